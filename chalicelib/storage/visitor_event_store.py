"""The visitor_events table: a visitor's page views and events, newest first."""
from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import decode_cursor, encode_cursor, table_meta


class VisitorEvent(Model):
    """What a visitor did and what operators changed on their card, newest last."""

    Meta = table_meta("visitor_events")
    visitor_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)  # "<at, 13 digits>#<random>": sorts by time
    kind = UnicodeAttribute()  # "pageview" | "edit" | "event" | "identify" | "greeting"
    data = UnicodeAttribute()  # the event's fields as JSON


def put_visitor_event(event: VisitorEvent) -> None:
    """PutItem visitor_events."""
    event.save()


def visitor_events(visitor_id: str, cursor: str | None, limit: int) -> tuple[list[VisitorEvent], str | None]:
    """Query visitor_events[visitor_id], newest first, one page."""
    results = VisitorEvent.query(visitor_id, scan_index_forward=False, limit=limit,
                                 last_evaluated_key=decode_cursor(cursor, "visitor_id", visitor_id))
    page = list(results)
    return page, encode_cursor(results.last_evaluated_key)
