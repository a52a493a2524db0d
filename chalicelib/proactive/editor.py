"""The operator frames that read and change a site's setup (triggers, segments, blocks,
settings), with each trigger's statistics. Every change is pushed to all the site's operators."""
from __future__ import annotations

import json
from typing import Any

from chalicelib import protocol
from chalicelib.realtime import audience, delivery
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import team
from chalicelib.shared.clock import new_id, now_ms
from chalicelib.shared.errors import Invalid, NotFound
from chalicelib.site import blocks, triggers
from chalicelib.site import settings as site_settings
from chalicelib.site.siteconfig import SiteSetup, load_site, settings_of
from chalicelib.storage import operator_store, site_config_store, site_store, visitor_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.site_config_store import SiteConfig

MAX_ITEMS = {"trigger": 50, "segment": 50, "block": 500}


LOW_ACCEPTANCE = 0.035  # below this, proactive chat is not recommended (brief, section 4)


def _proactive(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    outbox.add([conn.connection_id], proactive_view(load_site(conn.site_id)))


def proactive_view(setup: SiteSetup) -> dict[str, Any]:
    counters = {item.item_key[2:]: item for item in site_config_store.trigger_counters(setup.site.site_id)}
    return {
        "type": "proactive",
        "triggers": [triggers.trigger_doc(t) for t in setup.triggers],
        "segments": [triggers.segment_doc(s) for s in setup.segments],
        "blocks": [blocks.block_doc(b) for b in setup.blocks],
        "settings": site_settings.settings_doc(setup.settings),
        "stats": {t.trigger_id: stats_view(counters.get(t.trigger_id)) for t in setup.triggers},
    }


def stats_view(item: SiteConfig | None) -> dict[str, Any]:
    def count(name: str) -> int:
        return int(getattr(item, name) or 0) if item is not None else 0

    shown, accepted = count("shown"), count("accepted")
    acceptance = accepted / shown if shown else None
    return {"shown": shown, "held_out": count("held_out"), "accepted": accepted, "acceptance": acceptance,
            "low_acceptance": acceptance is not None and acceptance < LOW_ACCEPTANCE,
            "goal_shown": count("goal_shown"), "goal_held": count("goal_held")}


def _save(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    kind = protocol.DOCUMENT_FIELDS[frame.type]
    doc = frame.doc or {}
    if kind == "settings":
        site = site_store.get_site(conn.site_id)
        if site is None:
            raise NotFound("unknown site")
        before = settings_of(site)
        changed = site_settings.check_settings(doc, before)
        site_store.set_site_settings(conn.site_id, json.dumps(site_settings.settings_doc(changed)))
        if changed.default_cap != before.default_cap:
            team.default_cap_changed(conn.site_id, changed.default_cap, outbox)
    else:
        _save_item(conn, kind, doc)
        if kind == "block" and doc.get("kind") == "visitor":
            _close_visitor(conn.site_id, str(doc.get("value")), outbox)
    _changed(conn.site_id, outbox)


def _save_item(conn: Connection, kind: str, doc: dict[str, Any]) -> None:
    setup = load_site(conn.site_id)
    existing = {"trigger": {t.trigger_id: t.created_at for t in setup.triggers},
                "segment": {s.segment_id: 0 for s in setup.segments},
                "block": {}}[kind]
    item_id = doc.get(f"{kind}_id")
    if item_id is not None and item_id not in existing:
        raise NotFound(f"{kind} not found")
    if item_id is None and len(existing if kind != "block" else setup.blocks) >= MAX_ITEMS[kind]:
        raise Invalid(f"a site has at most {MAX_ITEMS[kind]} {kind}s")
    item_id = item_id or new_id(kind[0] if kind != "segment" else "g")
    created_at = existing.get(item_id) or now_ms()
    if kind == "trigger":
        operators = {op.operator_id for op in operator_store.site_operators(conn.site_id)}
        checked = triggers.check_trigger(doc, trigger_id=item_id, created_at=created_at, operator_ids=operators)
        stored = triggers.trigger_doc(checked)
    elif kind == "segment":
        stored = triggers.segment_doc(triggers.check_segment(doc, segment_id=item_id)) | {"created_at": created_at}
    else:
        stored = blocks.block_doc(blocks.check_block(doc, block_id=item_id, created_at=created_at))
        stored["created_by"] = conn.name
    site_config_store.put_config_item(SiteConfig(conn.site_id, f"c#{kind}#{item_id}", doc=json.dumps(stored)))


def _close_visitor(site_id: str, visitor_id: str, outbox: Outbox) -> None:
    """A blocked visitor's open tabs are closed at once ($disconnect then cleans up)."""
    visitor = visitor_store.get_visitor(visitor_id)
    if visitor is not None and visitor.site_id == site_id:
        delivery.close_connections(outbox.endpoint, audience.visitor_tabs(visitor_id))


def _delete(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    kind = protocol.ID_FIELDS[frame.type].removesuffix("_id")
    site_config_store.delete_config_item(conn.site_id, f"c#{kind}#{frame.item_id}")
    _changed(conn.site_id, outbox)


def _changed(site_id: str, outbox: Outbox) -> None:
    outbox.add(audience.operators(site_id), proactive_view(load_site(site_id)))


HANDLERS = {
    "proactive": _proactive,
    **{kind: _save for kind in protocol.DOCUMENT_FIELDS},
    **{kind: _delete for kind in protocol.ID_FIELDS},
}
