"""Access patterns of the routing table (docs/routing.md).

Reads are strongly consistent: routing decides on them. Every write that moves capacity is one
TransactWriteItems over this table (small: operators, open assignments and queued dialogs), so
an operator's `load` always equals their "a#" items and a dialog is assigned at most once."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.connection import Connection as DbConnection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.shared.config import settings
from chalicelib.storage.base import table_meta

GRACE_MS = 45_000  # a console gone this long is offline: a reload or a short drop does not flicker
DEFAULT_CAP = 3  # brief: new operators ~1-4 chats at once, experienced 2-3, experts ~4


@dataclass(frozen=True)
class OperatorState:
    """An operator as routing sees them (the "op#" item)."""
    operator_id: str
    name: str
    presence: str = "offline"
    connected: bool = False
    gone_at: int | None = None
    load: int = 0
    cap: int = DEFAULT_CAP
    cap_override: int | None = None
    last_assigned_at: int = 0

    @property
    def spare(self) -> int:
        return self.cap - self.load


class RoutingItem(Model):
    """Who answers what, per site (docs/routing.md). Every change that moves capacity is one
    TransactWriteItems over this small table, so its counters cannot drift apart:

    - "op#<operator_id>": presence, console connections, `load` (open dialogs assigned) and
      `cap` (the operator's override, else the site's default);
    - "a#<dialog_id>": the dialog is assigned to `operator_id` and counts in its load;
    - "queue": the site's FIFO queue, tickets `head` (next served) to `tail` (next issued);
    - "q#<ticket, 12 digits>" and "in#<dialog_id>": a queued dialog, by ticket and by dialog."""

    Meta = table_meta("routing")
    site_id = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True)
    operator_id = UnicodeAttribute(null=True)
    dialog_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    presence = UnicodeAttribute(null=True)  # chosen: "online" | "away" | "offline"
    conns = UnicodeSetAttribute(null=True)  # the operator's open console connections
    gone_at = NumberAttribute(null=True)  # when the last one closed
    load = NumberAttribute(null=True)
    cap = NumberAttribute(null=True)
    cap_override = NumberAttribute(null=True)
    last_assigned_at = NumberAttribute(null=True)
    head = NumberAttribute(null=True)
    tail = NumberAttribute(null=True)
    ticket = NumberAttribute(null=True)
    handle_ms = NumberAttribute(null=True)  # "queue": a moving average of assigned-to-closed time
    at = NumberAttribute(null=True)


QUEUE = "queue"
_db: DbConnection | None = None


def _connection() -> DbConnection:
    global _db
    if _db is None:
        _db = DbConnection(region=settings.region, host=settings.aws_endpoint)
    return _db


def op_key(operator_id: str) -> str:
    return f"op#{operator_id}"


def assignment_key(dialog_id: str) -> str:
    return f"a#{dialog_id}"


def ticket_key(ticket: int) -> str:
    return f"q#{ticket:012d}"


def queued_key(dialog_id: str) -> str:
    return f"in#{dialog_id}"


class Refused(Exception):
    """A transaction's condition failed. `items` names the keys whose condition failed."""

    def __init__(self, items: set[str]) -> None:
        super().__init__(", ".join(sorted(items)) or "conflict")
        self.items = items


_SENT_ORDER = {"check": 0, "delete": 1, "put": 2, "update": 3}


def _transact(steps: list[tuple[str, str, RoutingItem, list, Condition | None]]) -> None:
    """Runs (kind, key, item, actions, condition) steps as one transaction; Refused with the
    keys whose conditions failed (or none: a conflict with another transaction)."""
    # PynamoDB sends condition checks, deletes, puts, then updates: the cancellation reasons
    # come back in that order.
    steps = sorted(steps, key=lambda step: _SENT_ORDER[step[0]])
    try:
        with TransactWrite(connection=_connection()) as tx:
            for kind, _key, item, actions, condition in steps:
                if kind == "update":
                    tx.update(item, actions=actions, condition=condition)
                elif kind == "put":
                    tx.save(item, condition=condition)
                elif kind == "delete":
                    tx.delete(item, condition=condition)
                else:
                    tx.condition_check(RoutingItem, item.site_id, item.item_key, condition=condition)
    except TransactWriteError as exc:
        reasons = list(getattr(exc, "cancellation_reasons", None) or [])
        failed = {steps[i][1] for i, reason in enumerate(reasons)
                  if reason is not None and getattr(reason, "code", "") == "ConditionalCheckFailed"}
        raise Refused(failed) from exc


# --- reads ----------------------------------------------------------------------------------

def operator_states(site_id: str) -> list[OperatorState]:
    """Query routing[site_id, begins_with "op#"], consistent."""
    return [state_of(item) for item in RoutingItem.query(site_id, RoutingItem.item_key.startswith("op#"),
                                                         consistent_read=True)]


def state_of(item: RoutingItem) -> OperatorState:
    return OperatorState(
        operator_id=item.operator_id or item.item_key[3:], name=item.name or "Operator",
        presence=item.presence or "offline", connected=bool(item.conns), gone_at=_int(item.gone_at),
        load=int(item.load or 0), cap=int(item.cap or DEFAULT_CAP), cap_override=_int(item.cap_override),
        last_assigned_at=int(item.last_assigned_at or 0))


def _int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def get_item(site_id: str, key: str) -> RoutingItem | None:
    """GetItem routing[site_id, key], consistent."""
    try:
        return RoutingItem.get(site_id, key, consistent_read=True)
    except DoesNotExist:
        return None


@dataclass(frozen=True)
class QueueState:
    head: int = 0
    tail: int = 0
    handle_ms: int | None = None

    @property
    def length(self) -> int:
        return self.tail - self.head


def queue_state(site_id: str) -> QueueState:
    """GetItem routing[site_id, "queue"], consistent."""
    item = get_item(site_id, QUEUE)
    if item is None:
        return QueueState()
    return QueueState(int(item.head or 0), int(item.tail or 0), _int(item.handle_ms))


def queued_tickets(site_id: str, limit: int) -> list[RoutingItem]:
    """Query routing[site_id, begins_with "q#"], consistent, oldest first: the queue in order
    (tickets taken out of turn are gone from it)."""
    return list(RoutingItem.query(site_id, RoutingItem.item_key.startswith("q#"), consistent_read=True,
                                  limit=limit))


def queued_count(site_id: str) -> int:
    """Query routing[site_id, begins_with "q#"] (COUNT): how many wait in the queue."""
    return RoutingItem.count(site_id, RoutingItem.item_key.startswith("q#"), consistent_read=True)


def tickets_before(site_id: str, ticket: int) -> int:
    """Query routing[site_id, "q#" <= key < ticket] (COUNT): how many wait ahead of `ticket`."""
    return RoutingItem.count(site_id, RoutingItem.item_key.between(ticket_key(0), ticket_key(max(ticket - 1, 0))),
                             consistent_read=True) if ticket > 0 else 0


# --- operators: presence and capacity ---------------------------------------------------------

def operator_connected(site_id: str, operator_id: str, name: str, connection_id: str, default_cap: int) -> RoutingItem:
    """UpdateItem routing[site, "op#<id>"]: a console connected (created online on first use)."""
    item = RoutingItem(site_id, op_key(operator_id))
    item.update(actions=[
        RoutingItem.conns.add({connection_id}), RoutingItem.gone_at.remove(), RoutingItem.name.set(name),
        RoutingItem.operator_id.set(operator_id), RoutingItem.presence.set(RoutingItem.presence | "online"),
        RoutingItem.load.set(RoutingItem.load | 0), RoutingItem.cap.set(RoutingItem.cap | default_cap)])
    return item


def operator_disconnected(site_id: str, operator_id: str, connection_id: str, at_ms: int) -> RoutingItem | None:
    """UpdateItem routing[site, "op#<id>"]: a console closed; `gone_at` starts the grace."""
    item = RoutingItem(site_id, op_key(operator_id))
    try:
        item.update(actions=[RoutingItem.conns.delete({connection_id}), RoutingItem.gone_at.set(at_ms)],
                    condition=RoutingItem.item_key.exists())
    except UpdateError:
        return None
    return item


def set_presence(site_id: str, operator_id: str, name: str, presence: str, default_cap: int) -> None:
    """UpdateItem routing[site, "op#<id>"]: the operator's chosen presence."""
    RoutingItem(site_id, op_key(operator_id)).update(actions=[
        RoutingItem.presence.set(presence), RoutingItem.name.set(name), RoutingItem.operator_id.set(operator_id),
        RoutingItem.load.set(RoutingItem.load | 0), RoutingItem.cap.set(RoutingItem.cap | default_cap)])


def ensure_operator(site_id: str, operator_id: str, name: str, default_cap: int) -> None:
    """UpdateItem routing[site, "op#<id>"]: an operator who never opened the console gets an
    item (offline, the site's default cap) so it can be handed dialogs."""
    RoutingItem(site_id, op_key(operator_id)).update(actions=[
        RoutingItem.presence.set(RoutingItem.presence | "offline"), RoutingItem.name.set(name),
        RoutingItem.operator_id.set(operator_id), RoutingItem.load.set(RoutingItem.load | 0),
        RoutingItem.cap.set(RoutingItem.cap | default_cap)])


def set_cap(site_id: str, operator_id: str, name: str, override: int | None, default_cap: int) -> None:
    """UpdateItem routing[site, "op#<id>"]: the operator's cap (override, else the default)."""
    override_action = (RoutingItem.cap_override.set(override) if override is not None
                       else RoutingItem.cap_override.remove())
    RoutingItem(site_id, op_key(operator_id)).update(actions=[
        override_action, RoutingItem.cap.set(override or default_cap), RoutingItem.name.set(name),
        RoutingItem.operator_id.set(operator_id), RoutingItem.presence.set(RoutingItem.presence | "offline"),
        RoutingItem.load.set(RoutingItem.load | 0)])


def set_default_cap(site_id: str, operator_ids: Iterable[str], default_cap: int) -> None:
    """UpdateItem routing[site, "op#<id>"] per operator without an override: the new default."""
    for operator_id in operator_ids:
        try:
            RoutingItem(site_id, op_key(operator_id)).update(
                actions=[RoutingItem.cap.set(default_cap)],
                condition=RoutingItem.item_key.exists() & RoutingItem.cap_override.does_not_exist())
        except UpdateError:
            pass


def _can_take(now_ms: int, must_be_online: bool, capped: bool = True) -> Condition:
    """An operator's item may take one more dialog: under its cap (and available)."""
    condition = RoutingItem.load < RoutingItem.cap if capped else RoutingItem.item_key.exists()
    if must_be_online:
        condition &= (RoutingItem.presence == "online") & (
            RoutingItem.conns.exists() | (RoutingItem.gone_at > now_ms - GRACE_MS))
    return condition


def _take(site_id: str, operator_id: str, now_ms: int, must_be_online: bool, capped: bool = True) -> tuple:
    return ("update", op_key(operator_id), RoutingItem(site_id, op_key(operator_id)),
            [RoutingItem.load.add(1), RoutingItem.last_assigned_at.set(now_ms)],
            _can_take(now_ms, must_be_online, capped))


def _give_back(site_id: str, operator_id: str) -> tuple:
    return ("update", op_key(operator_id), RoutingItem(site_id, op_key(operator_id)),
            [RoutingItem.load.add(-1)], RoutingItem.load > 0)


def _assignment(site_id: str, dialog_id: str, operator_id: str, name: str, now_ms: int,
                condition: Condition) -> tuple:
    key = assignment_key(dialog_id)
    return ("put", key, RoutingItem(site_id, key, operator_id=operator_id, dialog_id=dialog_id, name=name, at=now_ms),
            [], condition)


# --- assignment -----------------------------------------------------------------------------

def assign_fresh(site_id: str, dialog_id: str, operator_id: str, name: str, now_ms: int) -> None:
    """One transaction: the operator takes a new dialog if nobody waits in the queue (FIFO:
    a new dialog never overtakes a queued one), it is under its cap and available, and the
    dialog is nobody's yet. Refused otherwise."""
    queue = RoutingItem(site_id, QUEUE)
    empty = RoutingItem.item_key.does_not_exist() | (RoutingItem.head >= RoutingItem.tail)
    _transact([
        ("check", QUEUE, queue, [], empty),
        _take(site_id, operator_id, now_ms, must_be_online=True),
        _assignment(site_id, dialog_id, operator_id, name, now_ms, RoutingItem.item_key.does_not_exist()),
    ])


def assign_over(site_id: str, dialog_id: str, operator_id: str, name: str, now_ms: int,
                previous: str | None, ticket: int | None, must_be_online: bool, capped: bool = True) -> None:
    """One transaction: the dialog moves to `operator_id` (under its cap unless not `capped`:
    an operator taking a dialog themselves) from `previous` (None: nobody had it), leaving the
    queue if it was there (`ticket`)."""
    held = (RoutingItem.operator_id == previous) if previous else RoutingItem.item_key.does_not_exist()
    steps = [_take(site_id, operator_id, now_ms, must_be_online, capped),
             _assignment(site_id, dialog_id, operator_id, name, now_ms, held)]
    if previous:
        steps.append(_give_back(site_id, previous))
    if ticket is not None:
        steps += _leave_queue(site_id, dialog_id, ticket)
    _transact(steps)


def _leave_queue(site_id: str, dialog_id: str, ticket: int) -> list[tuple]:
    return [("delete", ticket_key(ticket), RoutingItem(site_id, ticket_key(ticket)), [], RoutingItem.item_key.exists()),
            ("delete", queued_key(dialog_id), RoutingItem(site_id, queued_key(dialog_id)), [],
             RoutingItem.ticket == ticket)]


def release(site_id: str, dialog_id: str, operator_id: str) -> None:
    """One transaction: the dialog is nobody's now and its operator's load drops."""
    key = assignment_key(dialog_id)
    _transact([("delete", key, RoutingItem(site_id, key), [], RoutingItem.operator_id == operator_id),
               _give_back(site_id, operator_id)])


def enqueue(site_id: str, dialog_id: str, tail: int, now_ms: int) -> None:
    """One transaction: the dialog takes ticket `tail` (the queue's next) unless another took
    it meanwhile, the dialog is already queued, or it is assigned."""
    queue = RoutingItem(site_id, QUEUE)
    at_tail = (RoutingItem.tail == tail) if tail else (RoutingItem.tail.does_not_exist() | (RoutingItem.tail == 0))
    assigned = assignment_key(dialog_id)
    _transact([
        ("update", QUEUE, queue, [RoutingItem.tail.set(tail + 1), RoutingItem.head.set(RoutingItem.head | 0)], at_tail),
        ("put", ticket_key(tail), RoutingItem(site_id, ticket_key(tail), dialog_id=dialog_id, ticket=tail, at=now_ms),
         [], RoutingItem.item_key.does_not_exist()),
        ("put", queued_key(dialog_id), RoutingItem(site_id, queued_key(dialog_id), dialog_id=dialog_id, ticket=tail,
                                                   at=now_ms), [], RoutingItem.item_key.does_not_exist()),
        ("check", assigned, RoutingItem(site_id, assigned), [], RoutingItem.item_key.does_not_exist()),
    ])


def _advance(site_id: str, head: int) -> tuple:
    return ("update", QUEUE, RoutingItem(site_id, QUEUE), [RoutingItem.head.set(head + 1)], RoutingItem.head == head)


def dequeue(site_id: str, dialog_id: str, ticket: int, operator_id: str, name: str, now_ms: int) -> None:
    """One transaction: the queue's head (`ticket`) goes to the operator, under its cap."""
    _transact([
        _advance(site_id, ticket),
        *_leave_queue(site_id, dialog_id, ticket),
        _take(site_id, operator_id, now_ms, must_be_online=True),
        _assignment(site_id, dialog_id, operator_id, name, now_ms, RoutingItem.item_key.does_not_exist()),
    ])


def skip(site_id: str, head: int, dialog_id: str | None) -> None:
    """One transaction: the head ticket is passed over (its dialog left the queue otherwise:
    taken out of turn, closed, gone)."""
    steps = [_advance(site_id, head), ("delete", ticket_key(head), RoutingItem(site_id, ticket_key(head)), [], None)]
    if dialog_id:
        steps.append(("delete", queued_key(dialog_id), RoutingItem(site_id, queued_key(dialog_id)), [],
                      RoutingItem.ticket == head))
    _transact(steps)


def leave_queue(site_id: str, dialog_id: str, ticket: int) -> None:
    """One transaction: a queued dialog leaves the queue out of turn (closed); its ticket is
    skipped when it reaches the head."""
    _transact(_leave_queue(site_id, dialog_id, ticket))


def record_handled(site_id: str, handle_ms: int) -> None:
    """UpdateItem routing[site, "queue"]: the moving average of handling time."""
    RoutingItem(site_id, QUEUE).update(actions=[RoutingItem.handle_ms.set(handle_ms)])
