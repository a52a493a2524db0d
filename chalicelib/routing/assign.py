"""Routing as a service (docs/policy.md): a dialog goes to the available operator with the most
spare capacity, else waits in the site's FIFO queue, which drains as capacity frees; operators
hand dialogs over; closing frees capacity at once. The routing table decides (storage.routing_store);
each change is then mirrored on the dialog and pushed to the operators and the visitor."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.dialogs import rules
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import policy
from chalicelib.shared.clock import now_ms
from chalicelib.shared.errors import Invalid
from chalicelib.site import siteconfig
from chalicelib.storage import dialog_store, operator_store, routing_store, site_store
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.routing_store import RoutingItem
from chalicelib.visitors import cards

logger = Logger(service="parley", child=True)
ATTEMPTS = 5
MAX_DRAIN = 25  # queue heads one request serves at most (the schedule serves the rest)


# --- routing a dialog -----------------------------------------------------------------------

def route(dialog: Dialog, outbox: Outbox, excluding: str | None = None) -> Dialog:
    """A dialog that needs an operator (new, handed over by the bot, sent back to the queue):
    to the best available operator when nobody queues, else to the back of the queue."""
    site_id, dialog_id = dialog.site_id, dialog.dialog_id
    at = now_ms()
    if routing_store.queue_state(site_id).length == 0:
        for op in policy.candidates(routing_store.operator_states(site_id), at, excluding):
            try:
                routing_store.assign_fresh(site_id, dialog_id, op.operator_id, op.name, at)
            except routing_store.Refused as exc:
                if routing_store.QUEUE in exc.items or routing_store.assignment_key(dialog_id) in exc.items:
                    break
                continue
            return publish(dialog_id, outbox, team=True) or dialog
    queued = publish(dialog_id, outbox, team=True) if _enqueue(site_id, dialog_id, at) else None
    if drain(site_id, outbox) or queued is None:  # it may have been served: read it again
        return dialog_store.get_dialog(dialog_id) or dialog
    return queued


def _enqueue(site_id: str, dialog_id: str, at: int) -> bool:
    """The dialog takes the queue's next ticket; False when it is queued or assigned already."""
    for _ in range(ATTEMPTS * 4):
        tail = routing_store.queue_state(site_id).tail
        try:
            routing_store.enqueue(site_id, dialog_id, tail, at)
            return True
        except routing_store.Refused as exc:
            if exc.items & {routing_store.queued_key(dialog_id), routing_store.assignment_key(dialog_id)}:
                return False
    raise Invalid("the queue is busy right now; try again")


def drain(site_id: str, outbox: Outbox) -> int:
    """Serves the queue from its head while an operator has room: strictly in ticket order.
    Returns how many dialogs it assigned."""
    served = 0
    for _ in range(MAX_DRAIN):
        queue = routing_store.queue_state(site_id)
        if queue.length <= 0:
            return served
        outcome = _serve_head(site_id, queue.head)
        if outcome == "full":
            return served
        if outcome is not None and outcome != "skipped":
            served += 1
            publish(outcome, outbox, team=True)
    return served


def _serve_head(site_id: str, head: int) -> str | None:
    """The head ticket to the best operator: its dialog id, "skipped" (its dialog left the
    queue), "full" (nobody has room), or None (the queue moved meanwhile: look again)."""
    ticket = routing_store.get_item(site_id, routing_store.ticket_key(head))
    dialog = dialog_store.get_dialog(ticket.dialog_id or "") if ticket is not None else None
    if ticket is None or dialog is None or dialog.status != "open":
        return _skip(site_id, head, ticket.dialog_id if ticket is not None else None)
    at = now_ms()
    able = policy.candidates(routing_store.operator_states(site_id), at)
    if not able:
        return "full"
    for op in able:
        try:
            routing_store.dequeue(site_id, dialog.dialog_id, head, op.operator_id, op.name, at)
            return dialog.dialog_id
        except routing_store.Refused as exc:
            if routing_store.op_key(op.operator_id) in exc.items and len(exc.items) == 1:
                continue
            if routing_store.assignment_key(dialog.dialog_id) in exc.items:  # taken out of turn
                return _skip(site_id, head, dialog.dialog_id)
            return None
    return "full"


def _skip(site_id: str, head: int, dialog_id: str | None) -> str | None:
    try:
        routing_store.skip(site_id, head, dialog_id)
        return "skipped"
    except routing_store.Refused:
        return None


# --- handing over ---------------------------------------------------------------------------

def assign_to(site_id: str, dialog_id: str, operator_id: str, outbox: Outbox, *, by: str) -> Dialog:
    """The dialog moves to `operator_id` (from whoever has it, out of the queue if it waits
    there). Given by someone else (`by`: the operator acting, or "routing"), the receiver must
    be online with room: Invalid saying why not otherwise. Caps bound what others hand an
    operator; an operator may take a dialog themselves (answer it, take an offer, reopen it)."""
    must_be_online = capped = by != operator_id
    target = _operator_item(site_id, operator_id)
    for _ in range(ATTEMPTS):
        held = routing_store.get_item(site_id, routing_store.assignment_key(dialog_id))
        previous = held.operator_id if held is not None else None
        if previous == operator_id:
            return publish(dialog_id, outbox) or _gone()
        queued = routing_store.get_item(site_id, routing_store.queued_key(dialog_id))
        ticket = int(queued.ticket) if queued is not None and queued.ticket is not None else None
        try:
            routing_store.assign_over(site_id, dialog_id, operator_id, target.name or "Operator", now_ms(),
                               previous, ticket, must_be_online, capped)
        except routing_store.Refused as exc:
            if routing_store.op_key(operator_id) in exc.items:
                raise Invalid(_why_not(site_id, operator_id, must_be_online)) from None
            continue
        changed = publish(dialog_id, outbox, team=True) or _gone()
        if previous:
            drain(site_id, outbox)
        return changed
    raise Invalid("the dialog is changing right now; try again")


def _gone() -> Dialog:
    raise Invalid("the dialog is gone")


def _why_not(site_id: str, operator_id: str, must_be_online: bool) -> str:
    item = routing_store.get_item(site_id, routing_store.op_key(operator_id))
    state = routing_store.state_of(item) if item is not None else None
    name = state.name if state else "The operator"
    if state is not None and state.load >= state.cap:
        return f"{name} is at capacity ({state.load} of {state.cap})"
    if must_be_online and (state is None or not policy.available(state, now_ms())):
        return f"{name} is not online"
    return f"{name} cannot take it right now; try again"


def _operator_item(site_id: str, operator_id: str) -> RoutingItem:
    """The operator's routing item, created (offline, the site's default cap) if it has none."""
    item = routing_store.get_item(site_id, routing_store.op_key(operator_id))
    if item is not None:
        return item
    operator = operator_store.get_operator(operator_id)
    if operator is None or operator.site_id != site_id:
        raise Invalid("operator not found")
    routing_store.ensure_operator(site_id, operator_id, operator.name, default_cap(site_id))
    return routing_store.get_item(site_id, routing_store.op_key(operator_id)) or _gone_operator()


def _gone_operator() -> RoutingItem:
    raise Invalid("operator not found")


def back_to_queue(site_id: str, dialog_id: str, outbox: Outbox) -> Dialog:
    """The dialog leaves its operator and is routed again (to someone else, or the queue)."""
    held = routing_store.get_item(site_id, routing_store.assignment_key(dialog_id))
    if held is not None:
        try:
            routing_store.release(site_id, dialog_id, held.operator_id or "")
        except routing_store.Refused:
            pass
    dialog = publish(dialog_id, outbox, team=True) or _gone()
    return route(dialog, outbox, excluding=held.operator_id if held is not None else None)


def first_reply(dialog: Dialog, operator_id: str, outbox: Outbox) -> None:
    """An operator answering a dialog nobody has takes it."""
    try:
        assign_to(dialog.site_id, dialog.dialog_id, operator_id, outbox, by=operator_id)
    except Invalid:
        pass


def closed(dialog: Dialog, outbox: Outbox) -> None:
    """A closed dialog frees its operator's capacity (and leaves the queue) at once; the
    queue's head gets the slot. Safe to repeat."""
    site_id, dialog_id = dialog.site_id, dialog.dialog_id
    held = routing_store.get_item(site_id, routing_store.assignment_key(dialog_id))
    if held is not None:
        try:
            routing_store.release(site_id, dialog_id, held.operator_id or "")
            _measure_handling(site_id, now_ms() - int(held.at or now_ms()))
        except routing_store.Refused:
            pass
    queued = routing_store.get_item(site_id, routing_store.queued_key(dialog_id))
    if queued is not None and queued.ticket is not None:
        try:
            routing_store.leave_queue(site_id, dialog_id, int(queued.ticket))
        except routing_store.Refused:
            pass
    dialog_store.stop_waiting(dialog_id)
    drain(site_id, outbox)
    push_team(site_id, outbox)


def _measure_handling(site_id: str, handled_ms: int) -> None:
    routing_store.record_handled(site_id, policy.next_handle_ms(routing_store.queue_state(site_id).handle_ms, handled_ms))


# --- mirroring and pushing ------------------------------------------------------------------

def sync(dialog_id: str) -> tuple[Dialog | None, bool]:
    """The open dialog's assignee and queue ticket as the routing table has them (read after
    the dialog, written conditionally on its rev: concurrent syncs converge). Returns the
    dialog and whether it changed."""
    for _ in range(ATTEMPTS):
        dialog = dialog_store.get_dialog(dialog_id)
        if dialog is None:
            return None, False
        actions = _mirror_actions(dialog) if dialog.status == "open" else []
        if not actions:
            return dialog, False
        changed = dialog_store.change_dialog(dialog_id, dialog.site_id, int(dialog.rev or 0), actions)
        if changed is not None:
            return changed, True
    return dialog_store.get_dialog(dialog_id), False


def _mirror_actions(dialog: Dialog) -> list[Any]:
    held = routing_store.get_item(dialog.site_id, routing_store.assignment_key(dialog.dialog_id))
    queued = routing_store.get_item(dialog.site_id, routing_store.queued_key(dialog.dialog_id))
    actions: list[Any] = []
    assignee = held.operator_id if held is not None else None
    if dialog.assignee_id != assignee:
        actions += rules.assignee_change(dialog, assignee, held.name if held is not None else None)
        actions.append(Dialog.assigned_at.set(int(held.at or now_ms())) if held is not None
                       else Dialog.assigned_at.remove())
        if dialog.offered_to:
            actions += [Dialog.offered_to.remove(), Dialog.offered_name.remove(), Dialog.offered_at.remove()]
    # `queue_no` stays after the dialog leaves the queue: its last ticket (the FIFO audit's).
    if queued is not None and queued.ticket is not None:
        if dialog.queue_no is None or int(dialog.queue_no) != int(queued.ticket) or dialog.queued_at is None:
            actions += [Dialog.queue_no.set(int(queued.ticket)), Dialog.queued_at.set(int(queued.at or now_ms()))]
    elif dialog.queued_at is not None:
        actions.append(Dialog.queued_at.remove())
    return actions


def publish(dialog_id: str, outbox: Outbox, team: bool = False) -> Dialog | None:
    """Mirrors the routing table on the dialog and tells everyone: the operators (the
    summary, and the team when loads moved) and the visitor's tabs (their place or operator)."""
    dialog, _changed = sync(dialog_id)
    if dialog is None:
        return None
    waits = dialog.queued_at is not None and not dialog.assignee_id
    queue = routing_store.queue_state(dialog.site_id) if waits else None
    operators = audience.operators(dialog.site_id)
    outbox.add(operators, {"type": "dialog", "dialog": rules.dialog_summary(dialog, queue.head if queue else None)})
    if dialog.visitor_conns:
        outbox.add(dialog.visitor_conns, queue_frame(dialog, queue))
    if team:
        outbox.add(operators, team_frame(dialog.site_id))
    return dialog


def queue_frame(dialog: Dialog | None, queue: routing_store.QueueState | None = None) -> dict[str, Any]:
    """What the visitor is told: their place in the queue and an honest wait, or who answers."""
    frame: dict[str, Any] = {"type": "queue", "dialog_id": dialog.dialog_id if dialog else None,
                             "position": None, "wait_seconds": None, "operator": None}
    if dialog is None or dialog.status != "open":
        return frame
    if dialog.assignee_id:
        frame["operator"] = {"name": dialog.assignee_name or "Operator"}
    elif dialog.queued_at is not None and dialog.queue_no is not None:
        queue = queue or routing_store.queue_state(dialog.site_id)
        position = routing_store.tickets_before(dialog.site_id, int(dialog.queue_no)) + 1
        ops = routing_store.operator_states(dialog.site_id)
        frame["position"] = position
        frame["wait_seconds"] = policy.wait_estimate_s(position, ops, now_ms(), queue.handle_ms)
    return frame


def default_cap(site_id: str) -> int:
    site = site_store.get_site(site_id)
    return siteconfig.settings_of(site).default_cap if site is not None else routing_store.DEFAULT_CAP


def team_frame(site_id: str) -> dict[str, Any]:
    """Every operator of the site with presence and load, and the queue."""
    site = site_store.get_site(site_id)
    settings = siteconfig.settings_of(site) if site is not None else None
    cap = settings.default_cap if settings else routing_store.DEFAULT_CAP
    states = {state.operator_id: state for state in routing_store.operator_states(site_id)}
    at = now_ms()
    team = []
    for op in operator_store.site_operators(site_id):
        state = states.get(op.operator_id) or policy.OperatorState(op.operator_id, op.name, cap=cap)
        team.append({
            "operator_id": op.operator_id, "name": op.name, "avatar": cards.gravatar(op.email),
            "presence": policy.shown_presence(state, at), "connected": state.connected,
            "gone_at": state.gone_at, "available": policy.available(state, at), "load": state.load,
            "cap": state.cap, "cap_override": state.cap_override})
    queue = routing_store.queue_state(site_id)
    oldest = routing_store.queued_tickets(site_id, 1)
    return {"type": "team", "operators": sorted(team, key=lambda op: op["name"].lower()),
            "queue": {"length": routing_store.queued_count(site_id) if queue.length > 0 else 0, "oldest_at": int(oldest[0].at or 0) if oldest else None},
            "settings": {"default_cap": cap, "answer_seconds": settings.answer_seconds if settings else 30,
                         "reassign_seconds": settings.reassign_seconds if settings else 90},
            "grace_seconds": policy.GRACE_MS // 1000}


def push_team(site_id: str, outbox: Outbox) -> None:
    outbox.add(audience.operators(site_id), team_frame(site_id))
