"""Proactive greetings: deciding, with restraint, whether a trigger greets a visitor now; the
operator's manual invitation; acceptance and goal conversions for the statistics; and the
scheduled evaluation that covers what no live event does (time passing, follow-up emails).

The websocket path and the scheduled path both end in `_claim`: a conditional write of the
session's next greeting slot decides, so a trigger never fires twice in one session.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib import protocol
from chalicelib.mail import outbound
from chalicelib.proactive import monitor
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.clock import new_id, now_ms
from chalicelib.shared.errors import NotFound
from chalicelib.site import conditions, placeholders, triggers
from chalicelib.site.siteconfig import SiteSetup, load, load_site
from chalicelib.storage import (
    greeting_store,
    operator_store,
    site_config_store,
    site_store,
    visitor_event_store,
    visitor_store,
)
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.greeting_store import Greeting
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import cards, events, tracking

logger = Logger(service="parley", child=True)
CLAIM_ATTEMPTS = 4


# --- the decision ---------------------------------------------------------------------------

def _restraint(setup: SiteSetup, visitor: Visitor, typing: bool) -> triggers.Restraint:
    same_session = visitor.popup_session is not None and visitor.popup_session == visitor.session_id
    return triggers.Restraint(
        settings=setup.settings, fired=frozenset(),
        popups_used=int(visitor.popups_used or 0) if same_session else 0,
        last_popup_ms=tracking._int(visitor.last_popup_at), typing=typing, in_dialog=bool(visitor.open_dialog_id))


def _profile(setup: SiteSetup, visitor: Visitor, at_ms: int) -> conditions.Profile:
    needs_presence = any("operator_available" in conditions.fields_used(t.match) for t in setup.message_triggers)
    available = bool(audience.operators(setup.site.site_id)) if needs_presence else False
    return tracking.profile_of(visitor, at_ms, working_hours=tracking.within_hours(setup, at_ms),
                               operator_available=available)


def evaluate(setup: SiteSetup, visitor: Visitor, typing: bool, at_ms: int, outbox: Outbox,
             reply_to: str | None = None, operators: list[str] | None = None) -> Greeting | None:
    """Greets the visitor if a trigger allows it now. Otherwise, when a time condition may
    soon hold, tells `reply_to` (the widget) when to check in."""
    if not setup.message_triggers or not visitor.session_id:
        return None
    profile = _profile(setup, visitor, at_ms)
    restraint = _restraint(setup, visitor, typing)
    tabs: list[str] | None = None
    for _ in range(CLAIM_ATTEMPTS):
        trigger = triggers.eligible_greeting(setup.message_triggers, profile, restraint)
        if trigger is None:
            break
        if tabs is None:
            tabs = _visitor_tabs(visitor, reply_to)
            if not tabs:
                return None
        greeting, taken = _claim(setup, visitor, trigger, at_ms)
        if greeting is not None:
            if operators is None:
                operators = audience.operators(setup.site.site_id)
            _greeted(setup, visitor, trigger, greeting, tabs, operators, outbox)
            return greeting
        restraint = replace(restraint, fired=frozenset(g.trigger_id for g in taken if g.trigger_id),
                            popups_used=len(taken))
    due = triggers.next_check_ms(setup.message_triggers, profile, restraint)
    if due and reply_to:
        outbox.add([reply_to], {"type": "check_in", "after_ms": due})
    return None


def _visitor_tabs(visitor: Visitor, reply_to: str | None) -> list[str]:
    """The visitor's open tabs. None open (a tab closed without $disconnect reaching us)
    means the visitor left: the schedule stops reading them."""
    tabs = set(audience.visitor_tabs(visitor.visitor_id))
    if reply_to:
        tabs.add(reply_to)  # the channel index is eventually consistent; this tab is surely open
    if not tabs:
        visitor_store.update_visitor(visitor.visitor_id, visitor.site_id,
                              [Visitor.live_site.remove(), Visitor.due_shard.remove()])
    return sorted(tabs)


def _claim(setup: SiteSetup, visitor: Visitor, trigger: triggers.Trigger,
           at_ms: int) -> tuple[Greeting | None, list[Greeting]]:
    """Claims the session's next greeting slot for `trigger`, after a consistent read of the
    slots taken: None (and the slots) when the trigger already fired or the slots are used."""
    action = trigger.action
    assert isinstance(action, triggers.MessageAction)
    session_id = visitor.session_id or ""
    taken: list[Greeting] = []
    for _ in range(CLAIM_ATTEMPTS):
        taken = greeting_store.session_greetings(visitor.visitor_id, session_id)
        if any(g.trigger_id == trigger.trigger_id for g in taken) or len(taken) >= setup.settings.popups_per_session:
            return None, taken
        held = triggers.held_out(trigger.holdout_percent, random.random())
        author = _author(setup, action)
        greeting = Greeting(
            visitor.visitor_id, f"s#{session_id}#{len(taken)}", site_id=setup.site.site_id,
            trigger_id=trigger.trigger_id, session_id=session_id, held_out=held, at=at_ms,
            text=_text(setup, visitor, action.text, author), author=author)
        if greeting_store.claim_greeting(greeting):
            return greeting, taken
    return None, taken


def _author(setup: SiteSetup, action: triggers.MessageAction) -> dict[str, Any]:
    if action.sender_kind == "operator" and action.operator_id:
        operator = operator_store.get_operator(action.operator_id)
        if operator is not None and operator.site_id == setup.site.site_id:
            return {"kind": "operator", "id": operator.operator_id, "name": operator.name}
    return {"kind": "operator", "id": None, "name": setup.site.name}


def _text(setup: SiteSetup, visitor: Visitor, text: str, author: dict[str, Any]) -> str:
    return placeholders.render(text, {
        "visitor.name": visitor.name, "visitor.email": visitor.email, "page.title": visitor.current_title,
        "site.name": setup.site.name, "operator.name": author.get("name"),
    })


def _greeted(setup: SiteSetup, visitor: Visitor, trigger: triggers.Trigger, greeting: Greeting,
             tabs: list[str], operators: list[str], outbox: Outbox) -> None:
    """After a claimed greeting: the visitor's counters, the trigger's, the log, delivery."""
    used = int(greeting.greeting_key.rsplit("#", 1)[1]) + 1
    actions = [Visitor.popup_session.set(visitor.session_id), Visitor.popups_used.set(used),
               Visitor.last_popup_at.set(greeting.at)]
    if used >= setup.settings.popups_per_session:
        actions.append(Visitor.due_shard.remove())  # nothing left for the schedule to do
    visitor_store.update_visitor(visitor.visitor_id, visitor.site_id, actions)
    site_config_store.count_for_trigger(setup.site.site_id, trigger.trigger_id,
                             **({"held_out": 1} if greeting.held_out else {"shown": 1}))
    visitor_event_store.put_visitor_event(events.new_event(visitor.visitor_id, "greeting", int(greeting.at), {
        "trigger_id": trigger.trigger_id, "text": greeting.text, "held_out": bool(greeting.held_out)}))
    action = trigger.action
    assert isinstance(action, triggers.MessageAction)
    if not greeting.held_out:
        outbox.add(tabs, greeting_frame(greeting, action.open_desktop, action.open_mobile))
    outbox.add(operators, {
        "type": "greeted", "visitor_id": visitor.visitor_id, "trigger_id": trigger.trigger_id,
        "text": greeting.text, "held_out": bool(greeting.held_out)})


def greeting_frame(greeting: Greeting, open_desktop: bool, open_mobile: bool) -> dict[str, Any]:
    author = greeting.author
    operator = operator_store.get_operator(author.id) if author is not None and author.id else None
    return {"type": "greeting", "greeting_id": greeting.greeting_key, "text": greeting.text,
            "author": {"kind": "operator" if operator else "site", "name": author.name if author else None,
                       "avatar": cards.gravatar(operator.email) if operator else None},
            "open_desktop": open_desktop, "open_mobile": open_mobile}


# --- acceptance and conversions --------------------------------------------------------------

def accepted_greeting(visitor_id: str, greeting_id: str, at_ms: int) -> Greeting | None:
    """The greeting a visitor's first message answers (shown, not held out); it counts as
    accepted once."""
    greeting = greeting_store.get_greeting(visitor_id, greeting_id)
    if greeting is None or greeting.held_out or not greeting.text:
        return None
    if greeting_store.mark_greeting(visitor_id, greeting_id, "accepted_at", at_ms) and greeting.trigger_id:
        site_config_store.count_for_trigger(greeting.site_id, greeting.trigger_id, accepted=1)
    return greeting


def record_goal(setup: SiteSetup, visitor: Visitor, name: str, at_ms: int) -> None:
    """The site's goal event: each trigger greeting (or holding out) this session converts once."""
    if name != setup.settings.goal_event or not visitor.session_id:
        return
    for greeting in greeting_store.session_greetings(visitor.visitor_id, visitor.session_id):
        if greeting.trigger_id and greeting_store.mark_greeting(visitor.visitor_id, greeting.greeting_key,
                                                        "converted_at", at_ms):
            counter = "goal_held" if greeting.held_out else "goal_shown"
            site_config_store.count_for_trigger(setup.site.site_id, greeting.trigger_id, **{counter: 1})


# --- manual invitations -----------------------------------------------------------------------

def _invite(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    visitor = visitor_store.get_visitor(frame.visitor_id or "")
    if visitor is None or visitor.site_id != conn.site_id:
        raise NotFound("visitor not found")
    tabs = audience.visitor_tabs(visitor.visitor_id)
    if tabs:
        author = {"kind": "operator", "id": conn.subject_id, "name": conn.name}
        greeting = Greeting(visitor.visitor_id, f"m#{new_id('m')}", site_id=conn.site_id, at=now_ms(),
                            text=frame.text, author=author, session_id=visitor.session_id)
        greeting_store.claim_greeting(greeting)
        outbox.add(tabs, greeting_frame(greeting, open_desktop=True, open_mobile=False))
        outbox.add(audience.operators(conn.site_id), {
            "type": "greeted", "visitor_id": visitor.visitor_id, "trigger_id": None, "text": frame.text,
            "held_out": False, "by": conn.name})
    outbox.add([conn.connection_id], {"type": "invited", "visitor_id": visitor.visitor_id,
                                      "delivered": bool(tabs)})


HANDLERS = {"invite": _invite}


# --- leaving ----------------------------------------------------------------------------------

def visitor_left(conn: Connection, outbox: Outbox) -> None:
    """A visitor's tab closed: when it was the last and no newer page is loading, the visitor
    leaves the monitor and the schedule, and a follow-up email may become due."""
    if audience.visitor_tabs(conn.subject_id):
        return
    visitor = visitor_store.get_visitor(conn.subject_id)
    if visitor is None or int(visitor.page_started or 0) > int(conn.connected_at):
        return
    actions: list[Any] = [Visitor.live_site.remove(), Visitor.due_shard.remove()]
    followup_at = _followup_at(visitor, int(visitor.last_seen or now_ms())) if visitor.email else None
    if followup_at is not None:
        actions += [Visitor.followup_shard.set(tracking.shard_of(visitor.visitor_id)),
                    Visitor.followup_at.set(followup_at)]
    # Conditional on the version read: a page view racing this one keeps the visitor live.
    if visitor_store.update_visitor_at_version(visitor.visitor_id, int(visitor.version or 0), actions):
        monitor.push_left(visitor.site_id, visitor.visitor_id, outbox)


def _followup_at(visitor: Visitor, left_ms: int) -> int | None:
    setup = load_site(visitor.site_id)
    profile = tracking.profile_of(visitor, left_ms)
    delays = [t.action.delay_minutes for t in triggers.email_followups(setup.email_triggers, profile)
              if isinstance(t.action, triggers.EmailAction)]
    return left_ms + min(delays) * 60_000 if delays else None


# --- the schedule -----------------------------------------------------------------------------

@dataclass
class RunReport:
    due_visitors: int = 0
    greeted: int = 0
    held_out: int = 0
    followups_due: int = 0
    emails_sent: int = 0
    handler_s: float = 0.0
    sites: set[str] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {"due_visitors": self.due_visitors, "greeted": self.greeted, "held_out": self.held_out,
                "followups_due": self.followups_due, "emails_sent": self.emails_sent,
                "sites": len(self.sites), "handler_s": round(self.handler_s, 3)}


class _Setups(dict[str, SiteSetup | None]):
    """Each site's setup and operator connections, read once per scheduled run."""

    def __init__(self) -> None:
        super().__init__()
        self._operators: dict[str, list[str]] = {}

    def of(self, site_id: str) -> SiteSetup | None:
        if site_id not in self:
            site = site_store.get_site(site_id)
            self[site_id] = load(site) if site is not None else None
        return self[site_id]

    def operators(self, site_id: str) -> list[str]:
        if site_id not in self._operators:
            self._operators[site_id] = audience.operators(site_id)
        return self._operators[site_id]


def run_schedule(endpoint: str, at_ms: int | None = None) -> RunReport:
    """The every-minute evaluation: connected visitors a trigger may still greet (time-based
    conditions), then follow-up emails that fell due. Reads only those visitors (sparse indexes)."""
    started = time.perf_counter()
    at = at_ms if at_ms is not None else now_ms()
    setups, report = _Setups(), RunReport()
    with audience.sending(endpoint) as outbox:
        for shard in range(tracking.SHARDS):
            for visitor in visitor_store.due_visitors(str(shard), at):
                report.due_visitors += 1
                _scheduled_greeting(setups, visitor, at, outbox, report)
            for visitor in visitor_store.followups_due(str(shard), at):
                report.followups_due += 1
                _followup(setups, visitor, at, report)
    report.handler_s = time.perf_counter() - started
    return report


def _scheduled_greeting(setups: _Setups, visitor: Visitor, at_ms: int, outbox: Outbox, report: RunReport) -> None:
    setup = setups.of(visitor.site_id)
    if setup is None or not tracking.may_be_greeted(setup, visitor, at_ms):
        return
    report.sites.add(visitor.site_id)
    greeting = evaluate(setup, visitor, False, at_ms, outbox, operators=setups.operators(visitor.site_id))
    if greeting is not None:
        if greeting.held_out:
            report.held_out += 1
        else:
            report.greeted += 1


def _followup(setups: _Setups, visitor: Visitor, at_ms: int, report: RunReport) -> None:
    """Sends the follow-up emails now due (each once per visitor and trigger), then sets when
    the next one is due, or drops the visitor from the index."""
    setup = setups.of(visitor.site_id)
    if setup is None or visitor.live_site or not visitor.email or visitor.mail_opt_out:
        visitor_store.update_visitor(visitor.visitor_id, visitor.site_id,
                              [Visitor.followup_shard.remove(), Visitor.followup_at.remove()])
        return
    left = int(visitor.last_seen or at_ms)
    pending: list[int] = []
    for trigger in triggers.email_followups(setup.email_triggers, tracking.profile_of(visitor, left)):
        action = trigger.action
        assert isinstance(action, triggers.EmailAction)
        due = left + action.delay_minutes * 60_000
        if due > at_ms:
            pending.append(due)
        elif _send_followup(setup, visitor, trigger, action, at_ms):
            report.emails_sent += 1
    actions = ([Visitor.followup_at.set(min(pending))] if pending
               else [Visitor.followup_shard.remove(), Visitor.followup_at.remove()])
    visitor_store.update_visitor(visitor.visitor_id, visitor.site_id, actions)


def _send_followup(setup: SiteSetup, visitor: Visitor, trigger: triggers.Trigger,
                   action: triggers.EmailAction, at_ms: int) -> bool:
    held = triggers.held_out(trigger.holdout_percent, random.random())
    author = {"kind": "operator", "id": None, "name": setup.site.name}
    text = _text(setup, visitor, action.text, author)
    greeting = Greeting(visitor.visitor_id, f"e#{trigger.trigger_id}", site_id=setup.site.site_id,
                        trigger_id=trigger.trigger_id, session_id=visitor.session_id, held_out=held,
                        at=at_ms, text=text, author=author)
    if not outbound.configured() or not greeting_store.claim_greeting(greeting):
        return False  # no sender address yet; or sent before: once per visitor and trigger
    if held:
        site_config_store.count_for_trigger(setup.site.site_id, trigger.trigger_id, held_out=1)
        return False
    subject = _text(setup, visitor, action.subject, author)
    sent = outbound.send_text(visitor.email or "", subject, text, setup.site.name)
    if sent:  # a refusal by SES is logged and not retried: no mail storm from a bad address
        site_config_store.count_for_trigger(setup.site.site_id, trigger.trigger_id, shown=1)
    return sent
