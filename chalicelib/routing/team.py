"""The operators' team: presence (chosen, and kept steady across reloads by a grace period),
capacity, and the frames that change them (docs/policy.md)."""
from __future__ import annotations

from collections.abc import Callable

from chalicelib import protocol
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import assign, policy
from chalicelib.shared.clock import now_ms
from chalicelib.shared.errors import Invalid, NotFound
from chalicelib.storage import operator_store, routing_store
from chalicelib.storage.connection_store import Connection


def console_connected(conn: Connection, outbox: Outbox | None) -> None:
    """An operator's console connected: they are back (online unless they chose otherwise)."""
    routing_store.operator_connected(conn.site_id, conn.subject_id, conn.name or "Operator", conn.connection_id,
                              assign.default_cap(conn.site_id))
    if outbox is not None:  # the console drains the queue when it asks for the team, once open
        others = [c for c in audience.operators(conn.site_id) if c != conn.connection_id]
        outbox.add(others, assign.team_frame(conn.site_id))


def console_closed(conn: Connection, outbox: Outbox | None) -> None:
    """An operator's console closed; after the grace period with none open they are offline."""
    routing_store.operator_disconnected(conn.site_id, conn.subject_id, conn.connection_id, now_ms())
    if outbox is not None:
        assign.push_team(conn.site_id, outbox)


def _team(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    assign.drain(conn.site_id, outbox)
    outbox.add([conn.connection_id], assign.team_frame(conn.site_id))


def _presence(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    routing_store.set_presence(conn.site_id, conn.subject_id, conn.name or "Operator", frame.status,
                        assign.default_cap(conn.site_id))
    if frame.status == "online":
        assign.drain(conn.site_id, outbox)
    assign.push_team(conn.site_id, outbox)


def _cap_set(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    operator = operator_store.get_operator(frame.operator_id or "")
    if operator is None or operator.site_id != conn.site_id:
        raise NotFound("operator not found")
    try:
        cap = policy.check_cap(frame.cap)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    routing_store.set_cap(conn.site_id, operator.operator_id, operator.name, cap, assign.default_cap(conn.site_id))
    assign.drain(conn.site_id, outbox)
    assign.push_team(conn.site_id, outbox)


def default_cap_changed(site_id: str, cap: int, outbox: Outbox) -> None:
    """The site's default cap applies to every operator without their own."""
    routing_store.set_default_cap(site_id, [op.operator_id for op in operator_store.site_operators(site_id)], cap)
    assign.drain(site_id, outbox)
    assign.push_team(site_id, outbox)


HANDLERS: dict[str, Callable[[Connection, protocol.Frame, Outbox], None]] = {
    "team": _team, "presence": _presence, "cap_set": _cap_set,
}
