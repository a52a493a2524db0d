"""Routing rules: who is available, who gets the next dialog, what a queued visitor is told,
and what an unanswered dialog needs. Pure: no I/O (docs/routing.md)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from chalicelib.storage.routing_store import GRACE_MS, OperatorState

PRESENCES = ("online", "away", "offline")
MAX_CAP = 20
HANDLE_WEIGHT = 0.2  # the moving average's weight for each newly closed dialog



def in_grace(op: OperatorState, now_ms: int) -> bool:
    """Its consoles are all closed, but only just: it may be a reload."""
    return not op.connected and op.gone_at is not None and now_ms - op.gone_at < GRACE_MS


def available(op: OperatorState, now_ms: int) -> bool:
    """Online, and a console is open (or closed within the grace period)."""
    return op.presence == "online" and (op.connected or in_grace(op, now_ms))


def shown_presence(op: OperatorState, now_ms: int) -> str:
    """What the team sees: an operator whose consoles are gone past the grace is offline."""
    return op.presence if op.connected or in_grace(op, now_ms) else "offline"


def candidates(ops: Iterable[OperatorState], now_ms: int, excluding: str | None = None) -> list[OperatorState]:
    """Operators who may take a dialog now, best first: the most spare capacity, then the one
    idle longest (assigned least recently); connected ones before those in their grace."""
    able = [op for op in ops if op.operator_id != excluding and available(op, now_ms) and op.spare > 0]
    return sorted(able, key=lambda op: (not op.connected, -op.spare, op.last_assigned_at, op.operator_id))


def availability_reason(ops: Sequence[OperatorState], now_ms: int, within_hours: bool) -> str:
    """Why the widget shows the chat or the leave-a-message form: "online", "busy" (everyone
    is at capacity: a new dialog queues), "away", "offline" or "hours"."""
    if not within_hours:
        return "hours"
    live = [op for op in ops if available(op, now_ms)]
    if live:
        return "online" if any(op.spare > 0 for op in live) else "busy"
    if any(shown_presence(op, now_ms) == "away" for op in ops):
        return "away"
    return "offline"


def chat_open(reason: str) -> bool:
    return reason in ("online", "busy")


def wait_estimate_s(position: int, ops: Sequence[OperatorState], now_ms: int, handle_ms: int | None) -> int | None:
    """An honest estimate of a queued visitor's wait: dialogs ahead (and theirs) served as slots
    free, each slot freeing after the measured average handling time. None without a measure
    or anyone to serve."""
    slots = sum(op.cap for op in ops if available(op, now_ms))
    if not handle_ms or slots <= 0 or position <= 0:
        return None
    rounds = math.ceil(position / slots)
    return max(1, round(rounds * handle_ms / 1000))


def next_handle_ms(previous: int | None, handled_ms: int) -> int:
    """The moving average of how long an assigned dialog takes to close."""
    if not previous:
        return max(0, handled_ms)
    return round(previous * (1 - HANDLE_WEIGHT) + max(0, handled_ms) * HANDLE_WEIGHT)


def check_cap(value: object) -> int | None:
    """An operator's cap override from a frame: 1..MAX_CAP, or None (the site's default)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAP:
        raise ValueError(f"cap must be 1 to {MAX_CAP}, or null for the site's default")
    return value


# --- answer time ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    """What the answer-time review needs to know about a dialog."""

    waiting_since: int | None
    assignee_id: str | None
    late: bool = False
    offered_to: str | None = None
    offered_at: int | None = None
    queued: bool = False
    open: bool = True
    assigned_at: int | None = None  # a new assignee gets the whole reassign time again


@dataclass(frozen=True)
class Review:
    flag: bool = False  # mark it late
    offer: bool = False  # offer it to another operator
    reassign: bool = False  # give it to the operator it was offered to
    route: bool = False  # nobody has it and it is not queued: route it


def review(w: Waiting, now_ms: int, answer_s: int, reassign_s: int) -> Review:
    """The answer-time rule, shared by the schedule and the message path: over `answer_s`
    unanswered, a dialog is flagged; over `reassign_s`, offered to another available operator;
    and moved to them if its assignee still has not answered `answer_s` after the offer."""
    if not w.open or w.waiting_since is None:
        return Review()
    waited = now_ms - w.waiting_since
    flag = waited >= answer_s * 1000 and not w.late
    if w.assignee_id is None:
        return Review(flag=flag, route=not w.queued)
    if w.offered_to is None:
        theirs_for = now_ms - max(w.waiting_since, w.assigned_at or 0)
        return Review(flag=flag, offer=theirs_for >= reassign_s * 1000)
    offered_for = now_ms - (w.offered_at or now_ms)
    return Review(flag=flag, reassign=offered_for >= answer_s * 1000)
