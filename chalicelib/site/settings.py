"""A site's settings as data: language, working hours, the goal event, proactive restraint,
routing (caps, answer times), the bot and the auto-reply. Checked here; stored as JSON on the
site (site_store); read by proactive, routing, the bot and the mail through siteconfig."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.shared.errors import Invalid
from chalicelib.site.checks import EVENT_NAME_PATTERN, checked_bounded, checked_object, checked_text, shown

LANGUAGES = ("auto", "en", "ru", "ja", "zh", "es", "de")


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


MAX_COOLDOWN_MINUTES = 10080


MAX_POPUPS = 3


MAX_INTERVALS = 4


_CLOCK = re.compile(r"^(?:(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")


_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*$")


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


def check_settings(changes: Any, current: Settings) -> Settings:
    """The settings after an operator's changes: only the keys sent change."""
    changed = _apply(checked_object(changes, "settings"), current)
    if changed.reassign_seconds < changed.answer_seconds:
        raise Invalid("reassign_seconds: must be at least answer_seconds")
    return changed


def _apply(changes: Mapping[str, Any], current: Settings) -> Settings:
    updates: dict[str, Any] = {}
    for key, value in changes.items():
        if key not in _SETTINGS:
            raise Invalid(f"{shown(key)}: unknown setting")
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
    days = checked_object(value, path)
    unknown = next((day for day in days if day not in DAYS), None)
    if unknown is not None:
        raise Invalid(f"{path}: {shown(unknown)} is not a day (mon, tue, wed, thu, fri, sat, sun)")
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
    if not isinstance(value, str) or not EVENT_NAME_PATTERN.match(value):
        raise Invalid(f"{path}: must be an event name (1 to 64 of A-Z a-z 0-9 _ . : -)")
    return value


def _boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{path}: must be true or false")
    return value


_SETTINGS: dict[str, Callable[[Any, str], Any]] = {
    "language": _language, "timezone": _timezone, "hours": _hours, "goal_event": _goal_event,
    "capture_emails": _boolean, "accent_color": lambda value, path: _color(value, path),
    "popups_per_session": lambda value, path: checked_bounded(value, 1, MAX_POPUPS, path),
    "cooldown_minutes": lambda value, path: checked_bounded(value, 0, MAX_COOLDOWN_MINUTES, path),
    "default_cap": lambda value, path: checked_bounded(value, 1, 20, path),
    "answer_seconds": lambda value, path: checked_bounded(value, 10, 600, path),
    "reassign_seconds": lambda value, path: checked_bounded(value, 10, 3600, path),
    "bot_enabled": _boolean,
    "bot_name": lambda value, path: " ".join(checked_text(value, 40, path).split()),
    "autoreply": lambda value, path: checked_text(value, 1000, path) if value != "" else "",
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
        local = datetime.fromtimestamp(now_ms / 1000, _zone(s.timezone) or UTC)
    except (OverflowError, ValueError, OSError):
        return False
    moment = f"{local.hour:02d}:{local.minute:02d}"
    return any(start <= moment < end for start, end in s.hours.get(DAYS[local.weekday()], ()))


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return UTC if name == "UTC" else None
