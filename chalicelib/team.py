"""The operators' team: presence (chosen, and kept steady across reloads by a grace period),
capacity, and the frames that change them (docs/routing.md)."""
from __future__ import annotations

from collections.abc import Callable

from chalicelib import dispatch, protocol, routing
from chalicelib.clock import now_ms
from chalicelib.delivery import Outbox
from chalicelib.errors import Invalid, NotFound
from chalicelib.storage import access, routes
from chalicelib.storage.models import Connection


def console_connected(conn: Connection, outbox: Outbox | None) -> None:
    """An operator's console connected: they are back (online unless they chose otherwise)."""
    routes.operator_connected(conn.site_id, conn.subject_id, conn.name or "Operator", conn.connection_id,
                              dispatch.default_cap(conn.site_id))
    if outbox is not None:  # the console drains the queue when it asks for the team, once open
        others = [c for c in access.channel_connections(f"ops#{conn.site_id}") if c != conn.connection_id]
        outbox.add(others, dispatch.team_frame(conn.site_id))


def console_closed(conn: Connection, outbox: Outbox | None) -> None:
    """An operator's console closed; after the grace period with none open they are offline."""
    routes.operator_disconnected(conn.site_id, conn.subject_id, conn.connection_id, now_ms())
    if outbox is not None:
        dispatch.push_team(conn.site_id, outbox)


def _team(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    dispatch.drain(conn.site_id, outbox)
    outbox.add([conn.connection_id], dispatch.team_frame(conn.site_id))


def _presence(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    routes.set_presence(conn.site_id, conn.subject_id, conn.name or "Operator", frame.status,
                        dispatch.default_cap(conn.site_id))
    if frame.status == "online":
        dispatch.drain(conn.site_id, outbox)
    dispatch.push_team(conn.site_id, outbox)


def _cap_set(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    operator = access.get_operator(frame.operator_id or "")
    if operator is None or operator.site_id != conn.site_id:
        raise NotFound("operator not found")
    try:
        cap = routing.check_cap(frame.cap)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    routes.set_cap(conn.site_id, operator.operator_id, operator.name, cap, dispatch.default_cap(conn.site_id))
    dispatch.drain(conn.site_id, outbox)
    dispatch.push_team(conn.site_id, outbox)


def default_cap_changed(site_id: str, cap: int, outbox: Outbox) -> None:
    """The site's default cap applies to every operator without their own."""
    routes.set_default_cap(site_id, [op.operator_id for op in access.site_operators(site_id)], cap)
    dispatch.drain(site_id, outbox)
    dispatch.push_team(site_id, outbox)


HANDLERS: dict[str, Callable[[Connection, protocol.Frame, Outbox], None]] = {
    "team": _team, "presence": _presence, "cap_set": _cap_set,
}
