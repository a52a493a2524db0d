"""Trigger, segment, block and settings documents (docs/proactive.md), the restraint that
decides whether a greeting may go out, placeholders, and who is blocked. Pure: no I/O."""
from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone, tzinfo
from decimal import Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo

from chalicelib.shared.errors import Invalid
from chalicelib.site.conditions import (
    HORIZON_MS,
    Condition,
    Profile,
    condition_doc,
    due_in_ms,
    evaluate,
    parse_condition,
)

PLACEHOLDERS = ("visitor.name", "visitor.email", "page.title", "site.name", "operator.name")
LANGUAGES = ("auto", "en", "ru", "ja", "zh", "es", "de")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BLOCK_KINDS = ("visitor", "ip", "country", "rule")
MAX_NAME = 80
MAX_TEXT = 500
MAX_SUBJECT = 200
MAX_EMAIL_TEXT = 5000
MAX_NOTE = 200
MAX_HOLDOUT = 100  # 100: measure the baseline conversion with the greeting shown to nobody
MAX_DELAY_MINUTES = 10080  # a week
MAX_COOLDOWN_MINUTES = 10080
MAX_POPUPS = 3
MAX_INTERVALS = 4
# A placeholder is a dotted name in braces, so "{SAVE10}" in a greeting stays plain text.
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_]+\.[A-Za-z_]+)\s*(?:\|([^{}]*))?\}")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_CLOCK = re.compile(r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
_ACTION_KEYS = {"message": ("kind", "text", "sender", "open_desktop", "open_mobile"),
                "email": ("kind", "subject", "text", "delay_minutes")}
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*$")


@dataclass(frozen=True)
class MessageAction:
    text: str
    sender_kind: str = "site"  # "site" or "operator"
    operator_id: str | None = None
    open_desktop: bool = True
    open_mobile: bool = False


@dataclass(frozen=True)
class EmailAction:
    subject: str
    text: str
    delay_minutes: int = 60


@dataclass(frozen=True)
class Trigger:
    trigger_id: str
    name: str
    enabled: bool
    match: Condition
    action: MessageAction | EmailAction
    holdout_percent: int = 0
    created_at: int = 0


@dataclass(frozen=True)
class Segment:
    segment_id: str
    name: str
    match: Condition


@dataclass(frozen=True)
class Block:
    block_id: str
    kind: str  # visitor, ip, country or rule
    value: str | Condition
    note: str = ""
    created_at: int = 0


@dataclass(frozen=True)
class Settings:
    language: str = "auto"
    timezone: str = "UTC"
    hours: Mapping[str, tuple[tuple[str, str], ...]] | None = None  # None: always open
    goal_event: str = "purchase"
    capture_emails: bool = True
    popups_per_session: int = 1
    cooldown_minutes: int = 240
    accent_color: str = "#2563eb"  # the site's brand colour (emails)
    # Routing (docs/routing.md)
    default_cap: int = 3  # concurrent open dialogs per operator, unless the operator has their own
    answer_seconds: int = 30  # an unanswered visitor message older than this is late
    reassign_seconds: int = 90  # ... and older than this is offered to another operator
    bot_enabled: bool = False
    bot_name: str = "Assistant"
    autoreply: str = ""  # the answer to a left message; empty: the built-in one


@dataclass(frozen=True)
class Restraint:
    settings: Settings
    fired: frozenset[str] = frozenset()  # trigger ids already fired or held out this session
    popups_used: int = 0
    last_popup_ms: int | None = None
    typing: bool = False
    in_dialog: bool = False


# --- triggers and segments ------------------------------------------------------------------
# Documents may carry keys the server manages (ids, created_at, ...): those are ignored.

def check_trigger(doc: Any, *, trigger_id: str, created_at: int, operator_ids: Collection[str]) -> Trigger:
    """A trigger an operator saved, validated; `operator_ids` are the site's operators."""
    doc = _object(doc, "trigger")
    return Trigger(
        trigger_id=trigger_id,
        name=_name(doc.get("name"), "name"),
        enabled=_flag(doc, "enabled", True, "enabled"),
        match=parse_condition(doc.get("match"), path="match"),
        action=_action(doc.get("action"), operator_ids),
        holdout_percent=_bounded(doc.get("holdout_percent", 0), 0, MAX_HOLDOUT, "holdout_percent"),
        created_at=created_at,
    )


def _action(value: Any, operator_ids: Collection[str]) -> MessageAction | EmailAction:
    action = _object(value, "action")
    kind = action.get("kind")
    keys = _ACTION_KEYS.get(kind) if isinstance(kind, str) else None
    if keys is None:
        raise Invalid("action.kind: must be message or email")
    extra = next((key for key in action if key not in keys), None)
    if extra is not None:
        raise Invalid(f"action: unknown key {_show(extra)}")
    if kind == "email":
        return EmailAction(
            subject=" ".join(_text(action.get("subject"), MAX_SUBJECT, "action.subject").split()),
            text=_text(action.get("text"), MAX_EMAIL_TEXT, "action.text"),
            delay_minutes=_bounded(action.get("delay_minutes", 60), 1, MAX_DELAY_MINUTES, "action.delay_minutes"))
    sender_kind, operator_id = _sender(action.get("sender"), operator_ids)
    return MessageAction(
        text=_text(action.get("text"), MAX_TEXT, "action.text"),
        sender_kind=sender_kind, operator_id=operator_id,
        open_desktop=_flag(action, "open_desktop", True, "action.open_desktop"),
        open_mobile=_flag(action, "open_mobile", False, "action.open_mobile"))


def _sender(value: Any, operator_ids: Collection[str]) -> tuple[str, str | None]:
    sender = _object({"kind": "site"} if value is None else value, "action.sender")
    if sender.get("kind") == "site":
        return "site", None
    if sender.get("kind") != "operator":
        raise Invalid("action.sender.kind: must be site or operator")
    operator_id = sender.get("operator_id")
    if not isinstance(operator_id, str) or operator_id not in operator_ids:
        raise Invalid("action.sender.operator_id: not an operator of this site")
    return "operator", operator_id


def trigger_doc(t: Trigger) -> dict[str, Any]:
    return {"trigger_id": t.trigger_id, "name": t.name, "enabled": t.enabled, "match": condition_doc(t.match),
            "action": _action_doc(t.action), "holdout_percent": t.holdout_percent, "created_at": t.created_at}


def _action_doc(action: MessageAction | EmailAction) -> dict[str, Any]:
    if isinstance(action, EmailAction):
        return {"kind": "email", "subject": action.subject, "text": action.text,
                "delay_minutes": action.delay_minutes}
    sender: dict[str, Any] = {"kind": action.sender_kind}
    if action.sender_kind == "operator":
        sender["operator_id"] = action.operator_id
    return {"kind": "message", "text": action.text, "sender": sender,
            "open_desktop": action.open_desktop, "open_mobile": action.open_mobile}


def check_segment(doc: Any, *, segment_id: str) -> Segment:
    doc = _object(doc, "segment")
    return Segment(segment_id, _name(doc.get("name"), "name"),
                   parse_condition(doc.get("match"), for_segment=True, path="match"))


def segment_doc(s: Segment) -> dict[str, Any]:
    return {"segment_id": s.segment_id, "name": s.name, "match": condition_doc(s.match)}


# --- blocks -----------------------------------------------------------------------------------

def check_block(doc: Any, *, block_id: str, created_at: int) -> Block:
    doc = _object(doc, "block")
    kind = doc.get("kind")
    if kind not in BLOCK_KINDS:
        raise Invalid(f"kind: must be one of {', '.join(BLOCK_KINDS)}")
    value = _BLOCK_VALUES[kind](doc.get("value"))
    note = doc.get("note") or ""
    if not isinstance(note, str) or len(note.strip()) > MAX_NOTE:
        raise Invalid(f"note: must be a text of at most {MAX_NOTE} characters")
    return Block(block_id, kind, value, note.strip(), created_at)


def _visitor_value(value: Any) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise Invalid("value: must be a visitor id")
    return value


def _ip_value(value: Any) -> str:
    try:
        network = ipaddress.ip_network(value.strip() if isinstance(value, str) else "", strict=False)
    except ValueError:
        raise Invalid("value: must be an IP address or a CIDR range, e.g. 203.0.113.0/24") from None
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _country_value(value: Any) -> str:
    if not isinstance(value, str) or not _COUNTRY.match(value.strip()):
        raise Invalid("value: must be a two-letter country code (ISO 3166 alpha-2)")
    return value.strip().upper()


def _rule_value(value: Any) -> Condition:
    return parse_condition(value, for_segment=True, path="value")


_BLOCK_VALUES: dict[str, Callable[[Any], Any]] = {
    "visitor": _visitor_value, "ip": _ip_value, "country": _country_value, "rule": _rule_value}


def block_doc(b: Block) -> dict[str, Any]:
    value = b.value if isinstance(b.value, str) else condition_doc(b.value)
    return {"block_id": b.block_id, "kind": b.kind, "value": value, "note": b.note, "created_at": b.created_at}


def blocked_by(blocks: Sequence[Block], visitor_id: str, ip: str, profile: Profile) -> Block | None:
    """The first block that applies to this visitor, address and profile."""
    address = _address(ip)
    return next((block for block in blocks if _applies(block, visitor_id, address, profile)), None)


def _applies(block: Block, visitor_id: str, address: Any, profile: Profile) -> bool:
    if block.kind == "visitor":
        return bool(visitor_id) and block.value == visitor_id
    if block.kind == "country":
        return isinstance(profile.country, str) and profile.country.upper() == block.value
    if block.kind == "rule":
        return evaluate(block.value, profile)  # type: ignore[arg-type]
    network = _network(block.value) if block.kind == "ip" and address is not None else None
    return network is not None and network.version == address.version and address in network


def _address(ip: str) -> Any:
    """The client's address (an IPv4-mapped IPv6 address as IPv4), or None."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except (ValueError, AttributeError):
        return None
    return getattr(address, "ipv4_mapped", None) or address


@functools.lru_cache(maxsize=1024)
def _network(value: Any) -> Any:
    try:
        return ipaddress.ip_network(value, strict=False)
    except (ValueError, TypeError):
        return None


# --- settings ---------------------------------------------------------------------------------

def check_settings(changes: Any, current: Settings) -> Settings:
    """The settings after an operator's changes: only the keys sent change."""
    changed = _apply(_object(changes, "settings"), current)
    if changed.reassign_seconds < changed.answer_seconds:
        raise Invalid("reassign_seconds: must be at least answer_seconds")
    return changed


def _apply(changes: Mapping[str, Any], current: Settings) -> Settings:
    updates: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in _SETTINGS:
            raise Invalid(f"{_show(key)}: unknown setting")
        updates[key] = _SETTINGS[key](value, key)
    return replace(current, **updates)


def _language(value: Any, path: str) -> str:
    if value not in LANGUAGES:
        raise Invalid(f"{path}: must be one of {', '.join(LANGUAGES)}")
    return value


def _timezone(value: Any, path: str) -> str:
    if not isinstance(value, str) or len(value) > 64 or not _ZONE_NAME.match(value) or _zone(value) is None:
        raise Invalid(f"{path}: must be an IANA time zone such as Europe/Berlin")
    return value


def _hours(value: Any, path: str) -> dict[str, tuple[tuple[str, str], ...]] | None:
    if value is None:
        return None
    days = _object(value, path)
    unknown = next((day for day in days if day not in DAYS), None)
    if unknown is not None:
        raise Invalid(f"{path}: {_show(unknown)} is not a day (mon, tue, wed, thu, fri, sat, sun)")
    return {day: _intervals(days.get(day) or [], f"{path}.{day}") for day in DAYS}


def _intervals(value: Any, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_INTERVALS:
        raise Invalid(f"{path}: must be a list of at most {MAX_INTERVALS} [start, end] pairs")
    for i, pair in enumerate(value):
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                or not all(isinstance(t, str) and _CLOCK.match(t) for t in pair) or pair[0] >= pair[1]):
            raise Invalid(f'{path}[{i}]: must be ["HH:MM", "HH:MM"] with the start before the end')
    return tuple((start, end) for start, end in value)


def _color(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _COLOR.match(value):
        raise Invalid(f"{path}: must be a colour like #2563eb")
    return value.lower()


def _goal_event(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _EVENT_NAME.match(value):
        raise Invalid(f"{path}: must be an event name (1 to 64 of A-Z a-z 0-9 _ . : -)")
    return value


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{path}: must be true or false")
    return value


_SETTINGS: dict[str, Callable[[Any, str], Any]] = {
    "language": _language, "timezone": _timezone, "hours": _hours, "goal_event": _goal_event,
    "capture_emails": _boolean, "accent_color": lambda value, path: _color(value, path),
    "popups_per_session": lambda value, path: _bounded(value, 1, MAX_POPUPS, path),
    "cooldown_minutes": lambda value, path: _bounded(value, 0, MAX_COOLDOWN_MINUTES, path),
    "default_cap": lambda value, path: _bounded(value, 1, 20, path),
    "answer_seconds": lambda value, path: _bounded(value, 10, 600, path),
    "reassign_seconds": lambda value, path: _bounded(value, 10, 3600, path),
    "bot_enabled": _boolean,
    "bot_name": lambda value, path: " ".join(_text(value, 40, path).split()),
    "autoreply": lambda value, path: _text(value, 1000, path) if value != "" else "",
}


def settings_doc(s: Settings) -> dict[str, Any]:
    hours = None if s.hours is None else {day: [list(pair) for pair in s.hours.get(day, ())] for day in DAYS}
    return {"language": s.language, "timezone": s.timezone, "hours": hours, "goal_event": s.goal_event,
            "capture_emails": s.capture_emails, "popups_per_session": s.popups_per_session,
            "cooldown_minutes": s.cooldown_minutes, "accent_color": s.accent_color,
            "default_cap": s.default_cap, "answer_seconds": s.answer_seconds,
            "reassign_seconds": s.reassign_seconds, "bot_enabled": s.bot_enabled, "bot_name": s.bot_name,
            "autoreply": s.autoreply}


def settings_from_doc(doc: Mapping[str, Any] | None) -> Settings:
    """Stored settings; a missing or no longer valid value reads as its default."""
    settings = Settings()
    for key in _SETTINGS:
        if isinstance(doc, Mapping) and key in doc:
            try:
                settings = _apply({key: doc[key]}, settings)
            except Invalid:
                pass
    return replace(settings, reassign_seconds=max(settings.reassign_seconds, settings.answer_seconds))


def within_hours(s: Settings, now_ms: int) -> bool:
    """Whether `now_ms` is within the site's working hours, in the site's time zone."""
    if s.hours is None:
        return True
    try:
        local = datetime.fromtimestamp(now_ms / 1000, _zone(s.timezone) or timezone.utc)
    except (OverflowError, ValueError, OSError):
        return False
    moment = f"{local.hour:02d}:{local.minute:02d}"
    return any(start <= moment < end for start, end in s.hours.get(DAYS[local.weekday()], ()))


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return timezone.utc if name == "UTC" else None


# --- placeholders -----------------------------------------------------------------------------

def render(text: str, values: Mapping[str, str | None]) -> str:
    """The text with its placeholders filled: an empty value gives the fallback after `|`."""
    def fill(match: re.Match[str]) -> str:
        key, fallback = match[1], match[2]
        if key not in PLACEHOLDERS and key not in values:
            return match[0]
        value = values.get(key)
        return value if isinstance(value, str) and value.strip() else (fallback or "").strip()
    return _PLACEHOLDER.sub(fill, text)


def check_placeholders(text: str, path: str) -> None:
    for match in _PLACEHOLDER.finditer(text):
        if match[1] not in PLACEHOLDERS:
            raise Invalid(f"{path}: unknown placeholder {{{match[1]}}}; use one of "
                          + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS))


# --- restraint --------------------------------------------------------------------------------

def eligible_greeting(triggers: Sequence[Trigger], profile: Profile, restraint: Restraint) -> Trigger | None:
    """The trigger that greets this visitor now, if restraint allows one (docs/proactive.md)."""
    if restraint.typing or not _has_room(restraint, profile) or _cooldown_left(restraint, profile.now_ms):
        return None
    return next((t for t in _pending(triggers, restraint) if evaluate(t.match, profile)), None)


def next_check_ms(triggers: Sequence[Trigger], profile: Profile, restraint: Restraint,
                  horizon_ms: int = HORIZON_MS) -> int | None:
    """In how long a trigger may fire if only time passes (typing aside); None: nothing pending."""
    wait = _cooldown_left(restraint, profile.now_ms)
    if not _has_room(restraint, profile) or wait > horizon_ms:
        return None
    later = replace(profile, now_ms=profile.now_ms + wait)
    delays = (due_in_ms(t.match, later, horizon_ms - wait) for t in _pending(triggers, restraint))
    return min((wait + d for d in delays if d is not None and wait + d > 0), default=None)


def email_followups(triggers: Sequence[Trigger], profile: Profile) -> list[Trigger]:
    """For a visitor who left and whose email is known: the email triggers whose match holds."""
    if not profile.email:
        return []
    return [t for t in _by_age(triggers)
            if t.enabled and isinstance(t.action, EmailAction) and evaluate(t.match, profile)]


def held_out(percent: int, roll: float) -> bool:
    """Whether a session with this random roll in [0, 1) is held out."""
    return roll * 100 < percent


def _has_room(restraint: Restraint, profile: Profile) -> bool:
    """What waiting alone does not change: slots left, no dialog, working hours."""
    return (restraint.popups_used < restraint.settings.popups_per_session and not restraint.in_dialog
            and profile.working_hours is True)


def _cooldown_left(restraint: Restraint, now_ms: int) -> int:
    if restraint.last_popup_ms is None:
        return 0
    return max(0, restraint.last_popup_ms + restraint.settings.cooldown_minutes * 60_000 - now_ms)


def _pending(triggers: Sequence[Trigger], restraint: Restraint) -> list[Trigger]:
    return [t for t in _by_age(triggers)
            if t.enabled and isinstance(t.action, MessageAction) and t.trigger_id not in restraint.fired]


def _by_age(triggers: Sequence[Trigger]) -> list[Trigger]:
    return sorted(triggers, key=lambda t: (t.created_at, t.trigger_id))


# --- shared checks ----------------------------------------------------------------------------

def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(f"{path}: must be an object")
    return value


def _name(value: Any, path: str) -> str:
    name = " ".join(value.split()) if isinstance(value, str) else ""
    if not 1 <= len(name) <= MAX_NAME:
        raise Invalid(f"{path}: must be 1 to {MAX_NAME} characters")
    return name


def _text(value: Any, limit: int, path: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(text) <= limit:
        raise Invalid(f"{path}: must be 1 to {limit} characters")
    check_placeholders(text, path)
    return text


def _flag(doc: Mapping[str, Any], key: str, default: bool, path: str) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise Invalid(f"{path}: must be true or false")
    return value


def _bounded(value: Any, low: int, high: int, path: str) -> int:
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)  # read back from DynamoDB
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{path}: must be a whole number from {low} to {high}")
    return value


def _show(value: Any) -> str:
    return repr(value)[:40] if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
