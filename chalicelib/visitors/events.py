"""Visitor events: page views and card edits, as stored and as the full card shows them. Pure."""
from __future__ import annotations

import json
import secrets
from typing import Any

from chalicelib.storage.visitor_event_store import VisitorEvent

PAGE = 50


def new_event(visitor_id: str, kind: str, at_ms: int, data: dict[str, Any]) -> VisitorEvent:
    key = f"{at_ms:013d}#{secrets.token_hex(4)}"
    return VisitorEvent(visitor_id, key, kind=kind, data=json.dumps(data, separators=(",", ":")))


def event_view(event: VisitorEvent) -> dict[str, Any]:
    try:
        data = json.loads(event.data)
    except ValueError:
        data = {}
    at = int(event.event_key.split("#", 1)[0])
    return {**(data if isinstance(data, dict) else {}), "at": at, "kind": event.kind}
