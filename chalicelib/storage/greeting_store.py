"""The greetings table: proactive greetings shown (or held out) to a visitor."""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.storage.base import AuthorAttribute, conditional_put, conditional_update, table_meta


class Greeting(Model):
    """A proactive greeting shown (or held out) to a visitor.

    Keys: "s#<session_id>#<slot>" for a trigger's greeting (a conditional put on the slot
    decides which greeting a session gets), "m#<id>" for an operator's invitation,
    "e#<trigger_id>" for a follow-up email (once per visitor and trigger)."""

    Meta = table_meta("greetings")
    visitor_id = UnicodeAttribute(hash_key=True)
    greeting_key = UnicodeAttribute(range_key=True)
    site_id = UnicodeAttribute()
    trigger_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    held_out = BooleanAttribute(default=False)
    text = UnicodeAttribute(null=True)
    author = AuthorAttribute(null=True)
    at = NumberAttribute()
    accepted_at = NumberAttribute(null=True)
    converted_at = NumberAttribute(null=True)


def session_greetings(visitor_id: str, session_id: str) -> list[Greeting]:
    """Query greetings[visitor_id, begins_with "s#<session>#"], strongly consistent: the slots
    a session's greetings took."""
    return list(Greeting.query(visitor_id, Greeting.greeting_key.startswith(f"s#{session_id}#"),
                               consistent_read=True))


def claim_greeting(greeting: Greeting) -> bool:
    """PutItem greetings unless the key is taken: False when another path got there first."""
    return conditional_put(greeting, Greeting.greeting_key.does_not_exist())


def get_greeting(visitor_id: str, greeting_key: str) -> Greeting | None:
    """GetItem greetings[visitor_id, greeting_key]."""
    try:
        return Greeting.get(visitor_id, greeting_key)
    except DoesNotExist:
        return None


def mark_greeting(visitor_id: str, greeting_key: str, attribute: str, at_ms: int) -> bool:
    """UpdateItem greetings[...]: sets `accepted_at` or `converted_at` once; False if already set."""
    field = getattr(Greeting, attribute)
    return conditional_update(Greeting(visitor_id, greeting_key), [field.set(at_ms)],
                               Greeting.greeting_key.exists() & field.does_not_exist())
