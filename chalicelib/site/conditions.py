"""The condition language of segments, triggers and block rules (docs/proactive.md): parsing,
evaluation against a visitor's profile, and when a time condition will come true. Pure."""
from __future__ import annotations

import fnmatch
import math
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from chalicelib.shared.errors import Invalid
from chalicelib.shared.sources import primary_language

MAX_DEPTH = 4  # nested all/any groups
MAX_LEAVES = 50
MAX_NODES = 150  # groups and leaves together: empty groups cost nothing to write
MAX_STRING = 500
MAX_LIST = 100
MAX_KEY = 500
HORIZON_MS = 3_600_000

NUMBER, STRING, BOOLEAN, SEGMENT, EVENT = "number", "string", "boolean", "segment", "event"
FIELDS: dict[str, str] = {
    "time_on_site": NUMBER, "time_on_page": NUMBER, "path_views": NUMBER, "visits": NUMBER,
    "url": STRING, "visited_url": STRING, "referrer": STRING, "first_referrer": STRING,
    "utm": STRING, "search_query": STRING, "country": STRING, "device": STRING,
    "browser": STRING, "os": STRING, "language": STRING,
    "has_email": BOOLEAN, "working_hours": BOOLEAN, "operator_available": BOOLEAN,
    "segment": SEGMENT, "event": EVENT,
}
KEYED = frozenset({"path_views", "utm", "event"})
TIME_FIELDS = frozenset({"time_on_site", "time_on_page"})
NOT_FOR_SEGMENTS = TIME_FIELDS | {"working_hours", "operator_available"}
UTM_KEYS = ("source", "medium", "campaign", "term", "content")

NUMBER_OPS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte"})
STRING_OPS = frozenset({"equals", "not_equals", "contains", "not_contains", "starts_with", "glob"})
LIST_OPS = frozenset({"in", "not_in"})
PRESENCE_OPS = frozenset({"exists", "not_exists"})
OPS: dict[str, frozenset[str]] = {
    NUMBER: NUMBER_OPS | PRESENCE_OPS,
    STRING: STRING_OPS | LIST_OPS | PRESENCE_OPS,
    BOOLEAN: frozenset({"is"}) | PRESENCE_OPS,
    SEGMENT: frozenset({"is", "is_not"}) | PRESENCE_OPS,
    EVENT: NUMBER_OPS | STRING_OPS | LIST_OPS | {"is"} | PRESENCE_OPS,
}
ALL_OPS = frozenset().union(*OPS.values())
_SEGMENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EVENT_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,129}$")  # name (1-64) or name.property
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt,
    "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
}


@dataclass(frozen=True)
class Profile:
    """What a rule can see about a visitor, built by the service layer."""

    now_ms: int
    session_started_ms: int | None = None
    page_started_ms: int | None = None
    url: str = ""
    session_urls: tuple[str, ...] = ()
    path_views: Mapping[str, int] = field(default_factory=dict)  # path -> times ever opened
    referrer: str = ""  # this session's external referrer
    first_referrer: str = ""
    utm: Mapping[str, str] = field(default_factory=dict)  # source, medium, campaign, term, content
    search_query: str = ""
    country: str = "unknown"
    device: str = ""
    browser: str = ""
    os: str = ""
    language: str = ""
    visits: int = 0
    email: str | None = None
    segments: frozenset[str] = frozenset()
    events: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # name -> {count, at, props}
    working_hours: bool = True
    operator_available: bool = False


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))


@dataclass(frozen=True)
class Leaf:
    field: str
    op: str
    value: Any = None  # a number, a string, a bool, a tuple of strings (in/not_in) or None
    key: str | None = None


Condition = All | AnyOf | Leaf


# --- parsing ----------------------------------------------------------------------------------

def parse_condition(doc: Any, *, for_segment: bool = False, path: str = "match") -> Condition:
    """The condition a JSON document describes; Invalid names the path of the first problem."""
    return _Parser(for_segment).condition(doc, path, 0)


class _Parser:
    def __init__(self, for_segment: bool) -> None:
        self.for_segment = for_segment
        self.nodes = 0
        self.leaves = 0

    def condition(self, doc: Any, path: str, depth: int) -> Condition:
        if not isinstance(doc, Mapping):
            raise Invalid(f"{path}: must be a condition object ({{all}}, {{any}} or a field test)")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise Invalid(f"{path}: a rule has at most {MAX_NODES} conditions in all")
        for name, kind in (("all", All), ("any", AnyOf)):
            if name in doc:
                return kind(self.group(doc, name, path, depth))
        return self.leaf(doc, path)

    def group(self, doc: Mapping[Any, Any], name: str, path: str, depth: int) -> tuple[Condition, ...]:
        if len(doc) != 1:
            raise Invalid(f"{path}: {name!r} cannot be combined with other keys")
        if depth >= MAX_DEPTH:
            raise Invalid(f"{path}: conditions nest at most {MAX_DEPTH} levels deep")
        items = doc[name]
        if not isinstance(items, list) or len(items) > MAX_LIST:
            raise Invalid(f"{path}.{name}: must be a list of at most {MAX_LIST} conditions")
        return tuple(self.condition(item, f"{path}.{name}[{i}]", depth + 1) for i, item in enumerate(items))

    def leaf(self, doc: Mapping[Any, Any], path: str) -> Leaf:
        self.leaves += 1
        if self.leaves > MAX_LEAVES:
            raise Invalid(f"{path}: a rule has at most {MAX_LEAVES} field tests")
        extra = next((k for k in doc if k not in ("field", "op", "value", "key")), None)
        if extra is not None:
            raise Invalid(f"{path}: unknown key {_show(extra)}")
        name = doc.get("field")
        if not isinstance(name, str) or name not in FIELDS:
            raise Invalid(f"{path}.field: {_show(name)} is not a field")
        if self.for_segment and name in NOT_FOR_SEGMENTS:
            raise Invalid(f"{path}.field: segments cannot use {name}: membership is stored, "
                          f"and {name} changes on its own")
        key = _key(name, doc.get("key"), f"{path}.key")
        op = doc.get("op")
        if not isinstance(op, str) or op not in ALL_OPS:
            raise Invalid(f"{path}.op: unknown op {_show(op)}")
        if op not in OPS[FIELDS[name]]:
            raise Invalid(f"{path}.op: {op} does not apply to {name} (a {FIELDS[name]})")
        return Leaf(name, op, _value(FIELDS[name], op, doc.get("value"), f"{path}.value"), key)


def _key(name: str, key: Any, path: str) -> str | None:
    if name not in KEYED:
        if key is not None:
            raise Invalid(f"{path}: {name} takes no key")
        return None
    if name == "utm":
        if key not in UTM_KEYS:
            raise Invalid(f"{path}: must be one of {', '.join(UTM_KEYS)}")
    elif name == "path_views":
        if not isinstance(key, str) or not key.startswith("/") or len(key) > MAX_KEY or any(
                ch in key for ch in "?# \t\r\n"):
            raise Invalid(f"{path}: must be a page path such as /pricing (no query or fragment)")
    elif not isinstance(key, str) or not _EVENT_KEY.match(key):
        raise Invalid(f"{path}: must be an event name, or name.property (A-Z a-z 0-9 _ . : -)")
    return key


def _value(kind: str, op: str, value: Any, path: str) -> Any:
    if op in PRESENCE_OPS:
        if value is not None:
            raise Invalid(f"{path}: {op} takes no value")
        return None
    if op in NUMBER_OPS:
        number = _as_number(value)
        if number is None or not _finite(number):
            raise Invalid(f"{path}: must be a number")
        return number
    if op in STRING_OPS:
        return _string(value, path)
    if op in LIST_OPS:
        if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= MAX_LIST:
            raise Invalid(f"{path}: must be a list of 1 to {MAX_LIST} strings")
        return tuple(_string(item, f"{path}[{i}]") for i, item in enumerate(value))
    if kind == SEGMENT:
        if not isinstance(value, str) or not _SEGMENT_ID.match(value):
            raise Invalid(f"{path}: must be a segment id")
        return value
    if not isinstance(value, bool):
        raise Invalid(f"{path}: must be true or false")
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise Invalid(f"{path}: must be a string")
    if len(value) > MAX_STRING:
        raise Invalid(f"{path}: is over {MAX_STRING} characters")
    return value


def _show(value: Any) -> str:
    return repr(value)[:40] if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__


def condition_doc(cond: Condition) -> dict[str, Any]:
    """The JSON document of a condition: parse_condition(condition_doc(c)) == c."""
    if isinstance(cond, (All, AnyOf)):
        return {"all" if isinstance(cond, All) else "any": [condition_doc(c) for c in cond.items]}
    doc: dict[str, Any] = {"field": cond.field, "op": cond.op}
    if cond.key is not None:
        doc["key"] = cond.key
    if cond.op not in PRESENCE_OPS:
        doc["value"] = list(cond.value) if isinstance(cond.value, tuple) else cond.value
    return doc


def fields_used(cond: Condition) -> frozenset[str]:
    return frozenset(leaf.field for leaf in _leaves(cond))


def _leaves(cond: Condition) -> Iterator[Leaf]:
    if isinstance(cond, (All, AnyOf)):
        for item in cond.items:
            yield from _leaves(item)
    else:
        yield cond


# --- evaluation -------------------------------------------------------------------------------

def evaluate(cond: Condition, profile: Profile) -> bool:
    """Whether the condition holds for the profile. Never raises."""
    if isinstance(cond, All):
        return all(evaluate(item, profile) for item in cond.items)
    if isinstance(cond, AnyOf):
        return any(evaluate(item, profile) for item in cond.items)
    try:
        return _leaf(cond, profile)
    except Exception:  # the profile holds visitor data: a bad value fails its test, never the caller
        return False


def _leaf(leaf: Leaf, p: Profile) -> bool:
    if leaf.field == "segment":
        if leaf.op in PRESENCE_OPS:
            return bool(p.segments) == (leaf.op == "exists")
        return (leaf.value in p.segments) == (leaf.op == "is")
    if leaf.field == "visited_url":
        return _visited(leaf, p)
    actual, is_count = _lookup(leaf, p)
    if leaf.op in PRESENCE_OPS:
        return _present(leaf.field, actual, is_count) == (leaf.op == "exists")
    if leaf.op in NUMBER_OPS:
        number, expected = _as_number(actual), _as_number(leaf.value)
        if number is None or expected is None:
            return False
        return _COMPARE[leaf.op](number, expected * 1000 if leaf.field in TIME_FIELDS else expected)
    if leaf.op == "is":
        return isinstance(actual, bool) and actual == leaf.value
    return _text(leaf.op, actual if isinstance(actual, str) else "", leaf.value, leaf.field == "language")


def _lookup(leaf: Leaf, p: Profile) -> tuple[Any, bool]:
    """The profile's value for a leaf (None when unknown), and whether it is a count (an
    absent count is 0, and `exists` means it is above 0)."""
    name = leaf.field
    if name == "time_on_site":
        return _elapsed(p.now_ms, p.session_started_ms), False
    if name == "time_on_page":
        return _elapsed(p.now_ms, p.page_started_ms), False
    if name == "path_views":
        return p.path_views.get(leaf.key or "", 0), True
    if name == "event":
        return _event_value(p.events, leaf.key or "")
    if name == "utm":
        return p.utm.get(leaf.key or ""), False
    if name == "has_email":
        return bool(p.email), False
    return getattr(p, name), False


def _elapsed(now: Any, start: Any) -> int | float | None:
    """Milliseconds since `start`; rules compare it with their thresholds times 1000."""
    now, start = _as_number(now), _as_number(start)
    return None if now is None or start is None else now - start


def _event_value(events: Mapping[str, Any], key: str) -> tuple[Any, bool]:
    # Event names may hold dots, so "a.b.c" is the count of "a.b.c" if that happened, else a
    # property of "a.b" or of "a" (the longest name that happened wins).
    entry = events.get(key)
    if isinstance(entry, Mapping):
        return entry.get("count"), True
    for i in range(len(key) - 1, 0, -1):
        if key[i] == "." and isinstance(entry := events.get(key[:i]), Mapping):
            props = entry.get("props")
            return (props.get(key[i + 1:]) if isinstance(props, Mapping) else None), False
    return (None, False) if "." in key else (0, True)


def _present(name: str, actual: Any, is_count: bool) -> bool:
    if is_count:
        return _as_number(actual) not in (None, 0)
    if isinstance(actual, str):
        return actual != "" and not (name == "country" and actual.lower() == "unknown")
    return isinstance(actual, bool) or _as_number(actual) is not None


def _as_number(value: Any) -> int | float | None:
    """An int or float (infinite allowed), or None for anything else, NaN included."""
    if isinstance(value, Decimal):  # numbers read back from DynamoDB
        if value.is_nan():
            return None
        value = int(value) if value.is_finite() and value == value.to_integral_value() \
            and value.adjusted() < 30 else float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return value


def _finite(number: int | float) -> bool:
    return isinstance(number, int) or math.isfinite(number)  # an int may be too large for a float


def _visited(leaf: Leaf, p: Profile) -> bool:
    """`visited_url` holds when any page of the session passes the test; a negated test holds
    when none of them passes the positive one."""
    urls = [u for u in (*p.session_urls, p.url) if isinstance(u, str) and u]
    if leaf.op in PRESENCE_OPS:
        return bool(urls) == (leaf.op == "exists")
    positive = leaf.op.removeprefix("not_")
    hit = any(_text(positive, url, leaf.value, False) for url in urls or [""])
    return hit != (positive != leaf.op)


def _text(op: str, actual: str, expected: Any, language: bool) -> bool:
    negated = op.startswith("not_")
    op = op.removeprefix("not_")
    text = actual.lower()
    if op in ("equals", "in"):
        seen = {text, primary_language(text)} if language else {text}
        wanted = (expected,) if op == "equals" else expected
        hit = any(item.lower() in seen for item in wanted)
    elif op == "contains":
        hit = expected.lower() in text
    elif op == "starts_with":
        hit = text.startswith(expected.lower())
    elif op == "glob":
        hit = fnmatch.fnmatchcase(text, expected.lower().replace("[", "[[]"))  # no character classes
    else:
        return False
    return hit != negated


# --- time -------------------------------------------------------------------------------------

def due_in_ms(cond: Condition, profile: Profile, horizon_ms: int = HORIZON_MS) -> int | None:
    """0 when the condition holds now; else the smallest delay (1 to horizon_ms) after which it
    holds if nothing but time changes; None when time alone does not make it hold in time."""
    if evaluate(cond, profile):
        return 0
    delays = {d for leaf in _leaves(cond) for d in _crossings(leaf, profile) if 1 <= d <= horizon_ms}
    # Only time leaves move, and each changes only at its crossings: the condition is constant
    # between them, so the first crossing at which it holds is the answer.
    for delay in sorted(delays):
        if evaluate(cond, replace(profile, now_ms=int(profile.now_ms + delay))):
            return int(delay)
    return None


def _crossings(leaf: Leaf, p: Profile) -> list[int | float]:
    """The delays after which a time leaf may change its value."""
    if not isinstance(leaf, Leaf) or leaf.field not in TIME_FIELDS or leaf.op not in NUMBER_OPS:
        return []
    elapsed = _lookup(leaf, p)[0]
    threshold = _as_number(leaf.value)
    if elapsed is None or threshold is None or not _finite(elapsed) or not _finite(threshold * 1000):
        return []
    limit = threshold * 1000
    return [instant - elapsed for instant in (math.ceil(limit), math.floor(limit) + 1)]
