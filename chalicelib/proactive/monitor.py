"""The visitor monitor: who is on the site now, pushed live to the site's operators."""
from __future__ import annotations

from typing import Any

from chalicelib import protocol
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared import sources
from chalicelib.shared.clock import now_ms
from chalicelib.storage import visitor_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import cards, tracking

MONITOR_LIMIT = 200


def live_view(visitor: Visitor) -> dict[str, Any]:
    """A live visitor as the monitor shows it (operators only)."""
    page = {"url": visitor.current_url, "title": visitor.current_title} if visitor.current_url else None
    return {
        "visitor_id": visitor.visitor_id,
        "display_name": cards.display_name(visitor.visitor_id, visitor.name),
        "email": visitor.email, "avatar": cards.gravatar(visitor.email),
        "current_page": page,
        "session_started": tracking._int(visitor.session_started),
        "page_started": tracking._int(visitor.page_started),
        "last_seen": tracking._int(visitor.last_seen),
        "source": sources.source_of(visitor.session_referrer or "", tracking.json_map(visitor.utm)),
        "country": visitor.country or "unknown", "device": visitor.device, "browser": visitor.browser,
        "os": visitor.os, "language": visitor.language, "visits": int(visitor.visits or 0),
        "segments": sorted(visitor.segments or ()),
        "in_dialog": bool(visitor.open_dialog_id), "dialog_id": visitor.open_dialog_id,
    }


def push_live(visitor: Visitor, outbox: Outbox) -> None:
    outbox.add(audience.operators(visitor.site_id), {"type": "live", "visitor": live_view(visitor)})


def push_left(site_id: str, visitor_id: str, outbox: Outbox) -> None:
    outbox.add(audience.operators(site_id), {"type": "left", "visitor_id": visitor_id})


def _monitor(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    live = visitor_store.live_visitors(conn.site_id, now_ms(), MONITOR_LIMIT)
    outbox.add([conn.connection_id], {"type": "monitor", "visitors": [live_view(v) for v in live]})


HANDLERS = {"monitor": _monitor}
