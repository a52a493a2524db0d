"""Trigger, segment, block and settings documents (docs/proactive.md), the restraint that
decides whether a greeting may go out, placeholders, and who is blocked. Pure: no I/O."""
from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.shared.errors import Invalid
from chalicelib.site.checks import checked_bounded, checked_flag, checked_name, checked_object, checked_text, shown
from chalicelib.site.conditions import (
    HORIZON_MS,
    Condition,
    Profile,
    condition_doc,
    due_in_ms,
    evaluate,
    parse_condition,
)
from chalicelib.site.settings import Settings

MAX_TEXT = 500


MAX_SUBJECT = 200


MAX_EMAIL_TEXT = 5000


MAX_HOLDOUT = 100  # 100: measure the baseline conversion with the greeting shown to nobody


MAX_DELAY_MINUTES = 10080  # a week


_ACTION_KEYS = {"message": ("kind", "text", "sender", "open_desktop", "open_mobile"),
                "email": ("kind", "subject", "text", "delay_minutes")}


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
class Restraint:
    settings: Settings
    fired: frozenset[str] = frozenset()  # trigger ids already fired or held out this session
    popups_used: int = 0
    last_popup_ms: int | None = None
    typing: bool = False
    in_dialog: bool = False


def check_trigger(doc: Any, *, trigger_id: str, created_at: int, operator_ids: Container[str]) -> Trigger:
    """A trigger an operator saved, validated; `operator_ids` are the site's operators."""
    doc = checked_object(doc, "trigger")
    return Trigger(
        trigger_id=trigger_id,
        name=checked_name(doc.get("name"), "name"),
        enabled=checked_flag(doc, "enabled", True, "enabled"),
        match=parse_condition(doc.get("match"), path="match"),
        action=_action(doc.get("action"), operator_ids),
        holdout_percent=checked_bounded(doc.get("holdout_percent", 0), 0, MAX_HOLDOUT, "holdout_percent"),
        created_at=created_at,
    )


def _action(value: Any, operator_ids: Container[str]) -> MessageAction | EmailAction:
    action = checked_object(value, "action")
    kind = action.get("kind")
    keys = _ACTION_KEYS.get(kind) if isinstance(kind, str) else None
    if keys is None:
        raise Invalid("action.kind: must be message or email")
    extra = next((key for key in action if key not in keys), None)
    if extra is not None:
        raise Invalid(f"action: unknown key {shown(extra)}")
    if kind == "email":
        return EmailAction(
            subject=" ".join(checked_text(action.get("subject"), MAX_SUBJECT, "action.subject").split()),
            text=checked_text(action.get("text"), MAX_EMAIL_TEXT, "action.text"),
            delay_minutes=checked_bounded(action.get("delay_minutes", 60), 1, MAX_DELAY_MINUTES, "action.delay_minutes"))
    sender_kind, operator_id = _sender(action.get("sender"), operator_ids)
    return MessageAction(
        text=checked_text(action.get("text"), MAX_TEXT, "action.text"),
        sender_kind=sender_kind, operator_id=operator_id,
        open_desktop=checked_flag(action, "open_desktop", True, "action.open_desktop"),
        open_mobile=checked_flag(action, "open_mobile", False, "action.open_mobile"))


def _sender(value: Any, operator_ids: Container[str]) -> tuple[str, str | None]:
    sender = checked_object({"kind": "site"} if value is None else value, "action.sender")
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
    doc = checked_object(doc, "segment")
    return Segment(segment_id, checked_name(doc.get("name"), "name"),
                   parse_condition(doc.get("match"), for_segment=True, path="match"))


def segment_doc(s: Segment) -> dict[str, Any]:
    return {"segment_id": s.segment_id, "name": s.name, "match": condition_doc(s.match)}


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
