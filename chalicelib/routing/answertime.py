"""The 30-second answer (docs/policy.md): a visitor message unanswered past the site's
`answer_seconds` flags the dialog; past `reassign_seconds` it is offered to another available
operator, and moved to them if its operator still has not answered `answer_seconds` later.
The every-minute schedule and the message path run the same review (policy.review)."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.dialogs import rules
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import assign, policy
from chalicelib.shared.clock import now_ms
from chalicelib.shared.errors import Invalid
from chalicelib.site import settings as site_settings
from chalicelib.site import siteconfig
from chalicelib.storage import dialog_store, routing_store, site_store
from chalicelib.storage.dialog_store import Dialog

logger = Logger(service="parley", child=True)
MIN_ANSWER_MS = 10_000  # the shortest answer time a site may set


@dataclass
class Report:
    waiting: int = 0
    flagged: int = 0
    offered: int = 0
    reassigned: int = 0
    routed: int = 0
    handler_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_schedule(endpoint: str, at_ms: int | None = None) -> Report:
    """The every-minute run over every dialog waiting longer than the shortest answer time."""
    started = time.perf_counter()
    at = at_ms if at_ms is not None else now_ms()
    report, settings_by_site = Report(), {}
    with audience.sending(endpoint) as outbox:
        for shard in range(dialog_store.WAIT_SHARDS):
            for dialog in dialog_store.waiting_dialogs(f"w{shard}", at - MIN_ANSWER_MS):
                report.waiting += 1
                if dialog.site_id not in settings_by_site:
                    settings_by_site[dialog.site_id] = _settings(dialog.site_id)
                _review(dialog, at, settings_by_site[dialog.site_id], outbox, report)
        for site_id in settings_by_site:  # a queue nobody drained (e.g. a console that never asked)
            report.routed += assign.drain(site_id, outbox)
    report.handler_s = time.perf_counter() - started
    return report


def review_one(dialog: Dialog, outbox: Outbox, at_ms: int | None = None) -> None:
    """The message path's review of one dialog (free when nothing has waited long)."""
    at = at_ms if at_ms is not None else now_ms()
    if dialog.waiting_since is None or at - int(dialog.waiting_since) < MIN_ANSWER_MS:
        return
    _review(dialog, at, _settings(dialog.site_id), outbox, Report())


def _settings(site_id: str) -> site_settings.Settings:
    site = site_store.get_site(site_id)
    return siteconfig.settings_of(site) if site is not None else site_settings.Settings()


def _review(dialog: Dialog, at: int, s: site_settings.Settings, outbox: Outbox, report: Report) -> None:
    waiting = policy.Waiting(
        waiting_since=int(dialog.waiting_since) if dialog.waiting_since is not None else None,
        assignee_id=dialog.assignee_id, late=bool(dialog.late), offered_to=dialog.offered_to,
        offered_at=int(dialog.offered_at) if dialog.offered_at is not None else None,
        queued=dialog.queued_at is not None, open=dialog.status == "open" and dialog.bot != "active",
        assigned_at=int(dialog.assigned_at) if dialog.assigned_at is not None else None)
    decision = policy.review(waiting, at, s.answer_seconds, s.reassign_seconds)
    if decision.flag and _mark(dialog, [Dialog.late.set(True)], outbox):
        report.flagged += 1
    if decision.route:
        assign.route(dialog, outbox)
        report.routed += 1
    elif decision.offer and _offer(dialog, at, outbox):
        report.offered += 1
    elif decision.reassign and _reassign(dialog, outbox):
        report.reassigned += 1


def _mark(dialog: Dialog, actions: list[Any], outbox: Outbox) -> bool:
    """Sets answer-time fields while the same wait runs, and shows the operators."""
    marked = dialog_store.mark_waiting(dialog, actions)
    if marked is None:
        return False
    outbox.add(audience.operators(dialog.site_id),
               {"type": "dialog", "dialog": rules.dialog_summary(marked)})
    return True


def _offer(dialog: Dialog, at: int, outbox: Outbox) -> bool:
    """Offers the dialog to the best other available operator (they may take it at once)."""
    others = policy.candidates(routing_store.operator_states(dialog.site_id), at, excluding=dialog.assignee_id)
    if not others:
        return False
    best = others[0]
    return _mark(dialog, [Dialog.offered_to.set(best.operator_id), Dialog.offered_name.set(best.name),
                          Dialog.offered_at.set(at)], outbox)


def _reassign(dialog: Dialog, outbox: Outbox) -> bool:
    """Its operator did not answer after the offer: it moves to the operator it was offered
    to; if they can no longer take it, the offer lapses and the next review offers again."""
    try:
        assign.assign_to(dialog.site_id, dialog.dialog_id, dialog.offered_to or "", outbox, by="routing")
        return True
    except Invalid as exc:
        logger.info("offer lapsed", extra={"dialog_id": dialog.dialog_id, "reason": exc.message})
        _mark(dialog, [Dialog.offered_to.remove(), Dialog.offered_name.remove(), Dialog.offered_at.remove()], outbox)
        return False
