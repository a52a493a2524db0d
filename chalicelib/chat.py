"""The websocket service: $connect, $default frames and $disconnect, for visitors and operators.

Each handler reads the connection's identity (stored at $connect), validates the frame, does its
storage work through `storage.access`, and queues frames in an Outbox that is posted at the end.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib import dialogs, protocol
from chalicelib.auth import read_token
from chalicelib.clock import new_id, now_ms, now_s
from chalicelib.config import settings
from chalicelib.delivery import Outbox
from chalicelib.errors import Invalid, NotFound, ParleyError, Unauthorized
from chalicelib.storage import access
from chalicelib.storage.models import Connection, Dialog, Message

logger = Logger(service="parley", child=True)
CONNECTION_TTL_S = 3 * 3600  # API Gateway closes a websocket after 2 hours at the latest


@dataclass(frozen=True)
class ConnectRequest:
    connection_id: str
    query: dict[str, str]
    headers: dict[str, str]


def connect(request: ConnectRequest) -> int:
    """Authenticates a new websocket and remembers who it is. Returns the HTTP status."""
    query = request.query
    if query.get("v") != protocol.VERSION or not query.get("token"):
        return 400
    try:
        claims = read_token(query["token"], settings.secret, now_s())
    except Unauthorized:
        logger.info("websocket refused: bad token")
        return 401
    origin = _header(request.headers, "origin")
    if not _origin_allowed(claims.role, claims.site_id, origin):
        logger.info("websocket refused: origin", extra={"origin": origin})
        return 403
    channel = f"ops#{claims.site_id}" if claims.role == "operator" else f"vis#{claims.subject}"
    access.put_connection(Connection(
        request.connection_id, role=claims.role, site_id=claims.site_id, subject_id=claims.subject,
        name=claims.name, channel=channel, connected_at=now_ms(),
        expires_at=now_s() + CONNECTION_TTL_S,
    ))
    return 200


def _header(headers: dict[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _origin_allowed(role: str, site_id: str, origin: str) -> bool:
    if role == "operator":
        return origin in settings.console_origins
    if role != "visitor":
        return False
    site = access.get_site(site_id)
    return site is not None and origin in site.allowed_origins


def disconnect(connection_id: str) -> None:
    conn = access.get_connection(connection_id)
    if conn is None:
        return
    if conn.role == "visitor" and conn.dialog_id:
        access.remove_visitor_connections(conn.dialog_id, {connection_id})
    access.delete_connection(connection_id)


def receive(connection_id: str, body: str | None, endpoint: str) -> None:
    """Handles one inbound frame; every outcome, error included, is answered by a frame."""
    outbox = Outbox(endpoint)
    try:
        _dispatch(connection_id, body, outbox)
    except ParleyError as exc:
        logger.info("frame refused", extra={"code": exc.code, "reason": exc.message})
        outbox.add([connection_id], protocol.error_frame(exc.code, exc.message, exc.client_id))
    except Exception:
        logger.exception("frame failed")
        outbox.add([connection_id], protocol.error_frame("internal", "the server failed; retry"))
    _forget(outbox.send())


def _dispatch(connection_id: str, body: str | None, outbox: Outbox) -> None:
    conn = access.get_connection(connection_id)
    if conn is None:
        raise Unauthorized("unknown connection; reconnect with a fresh token")
    frame = protocol.parse_frame(body, conn.role)
    handlers = _VISITOR if conn.role == "visitor" else _OPERATOR
    try:
        handlers[frame.type](conn, frame, outbox)
    except ParleyError as exc:
        exc.client_id = exc.client_id or frame.client_id
        raise


def _forget(gone: set[str]) -> None:
    """Deletes connections the management API called gone (410)."""
    for connection_id in gone:
        disconnect(connection_id)


# --- visitor frames ---------------------------------------------------------------------

def _visitor_resume(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog_id = conn.dialog_id or _open_dialog_id(conn.subject_id)
    reply: dict[str, Any] = {"type": "history", "dialog_id": dialog_id, "messages": [], "more": False}
    if dialog_id:
        if access.add_visitor_connection(dialog_id, conn.subject_id, conn.connection_id) is None:
            raise NotFound("dialog not found")
        if conn.dialog_id != dialog_id:
            access.set_connection_dialog(conn.connection_id, dialog_id)
        reply.update(_history_page(dialog_id, frame.after_seq))
    outbox.add([conn.connection_id], reply)


def _visitor_message(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog_id = conn.dialog_id or _open_dialog_id(conn.subject_id) or _start_dialog(conn)
    if conn.dialog_id != dialog_id:
        access.set_connection_dialog(conn.connection_id, dialog_id)
    _post_message(conn, frame, dialog_id, Dialog.visitor_id == conn.subject_id,
                  dialogs.visitor_author(), outbox)


def _visitor_typing(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog_id = conn.dialog_id or _open_dialog_id(conn.subject_id)
    if not dialog_id:
        return
    outbox.add(access.channel_connections(f"ops#{conn.site_id}"), {
        "type": "typing", "dialog_id": dialog_id, "author": dialogs.visitor_author(),
        "text": frame.text or "",
    })


def _open_dialog_id(visitor_id: str) -> str | None:
    visitor = access.get_visitor(visitor_id)
    return visitor.open_dialog_id if visitor else None


def _start_dialog(conn: Connection) -> str:
    """Creates the visitor's dialog on its first message; two tabs racing get the same one."""
    dialog = dialogs.new_dialog(new_id("d"), conn.site_id, conn.subject_id, now_ms())
    tabs = set(access.channel_connections(f"vis#{conn.subject_id}")) | {conn.connection_id}
    dialog.visitor_conns = tabs
    access.put_dialog(dialog)
    if access.claim_open_dialog(conn.subject_id, dialog.dialog_id):
        return dialog.dialog_id
    access.delete_dialog(dialog.dialog_id)
    winner = _open_dialog_id(conn.subject_id)
    if winner is None:
        raise NotFound("visitor not found")
    return winner


# --- operator frames --------------------------------------------------------------------

def _operator_subscribe(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    page, cursor = access.dialogs_in_status(conn.site_id, "open", frame.cursor, protocol.DIALOG_PAGE)
    outbox.add([conn.connection_id], {
        "type": "dialogs", "dialogs": [dialogs.dialog_summary(d) for d in page], "cursor": cursor,
    })


def _operator_history(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = _site_dialog(conn, frame.dialog_id)
    reply = {"type": "history", "dialog_id": dialog.dialog_id}
    reply.update(_history_page(dialog.dialog_id, frame.after_seq))
    outbox.add([conn.connection_id], reply)


def _operator_message(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    author = dialogs.operator_author(conn.subject_id, conn.name)
    _post_message(conn, frame, frame.dialog_id or "", Dialog.site_id == conn.site_id, author, outbox)


def _operator_typing(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = _site_dialog(conn, frame.dialog_id)
    outbox.add(dialog.visitor_conns or (), {
        "type": "typing", "dialog_id": dialog.dialog_id,
        "author": dialogs.operator_author(conn.subject_id, conn.name),
    })


def _site_dialog(conn: Connection, dialog_id: str | None) -> Dialog:
    dialog = access.get_dialog(dialog_id or "")
    if dialog is None or dialog.site_id != conn.site_id:
        raise NotFound("dialog not found")
    return dialog


# --- shared -----------------------------------------------------------------------------

def _ping(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    outbox.add([conn.connection_id], {"type": "pong"})


def _history_page(dialog_id: str, after_seq: int) -> dict[str, Any]:
    found = access.messages_after(dialog_id, after_seq, protocol.HISTORY_PAGE + 1)
    page = found[: protocol.HISTORY_PAGE]
    return {"messages": [dialogs.message_view(m) for m in page], "more": len(found) > len(page)}


def _post_message(conn: Connection, frame: protocol.Frame, dialog_id: str, guard: Any,
                  author: dict[str, Any], outbox: Outbox) -> None:
    """Stores a message once (whatever the retries), acks it, and fans it out."""
    text, client_id = frame.text or "", frame.client_id or ""
    at = now_ms()
    dialog = access.record_message(dialog_id, guard, author, dialogs.preview(text), at)
    if dialog is None:
        raise NotFound("dialog not found", client_id=client_id)
    message = Message(dialog_id, client_id, seq=dialog.last_seq, author=author, text=text, created_at=at)
    duplicate = not access.insert_message(message)
    if duplicate:
        message = _stored_retry(dialog_id, client_id, author)
    outbox.add([conn.connection_id], _ack(client_id, dialog_id, int(message.seq), duplicate))
    _fan_out(conn, dialog, message, outbox)


def _stored_retry(dialog_id: str, client_id: str, author: dict[str, Any]) -> Message:
    """The message a retry refers to; its client id must be the same author's."""
    stored = access.get_message(dialog_id, client_id)
    if stored is None or not dialogs.same_author(dialogs.author_dict(stored.author), author):
        raise Invalid("client_id was already used for another message", client_id=client_id)
    return stored


def _fan_out(conn: Connection, dialog: Dialog, message: Message, outbox: Outbox) -> None:
    """To the visitor's tabs and the site's operators. A retry is delivered again with its
    original seq (clients drop a seq they have), so a send cut off between storing and
    delivering still reaches everyone."""
    visitor_tabs = set(dialog.visitor_conns or ())
    if conn.role == "visitor":
        visitor_tabs.add(conn.connection_id)
    view = dialogs.message_view(message)
    outbox.add(visitor_tabs, {"type": "message", "message": view})
    operators = access.channel_connections(f"ops#{dialog.site_id}")
    outbox.add(operators, {"type": "message", "message": view, "dialog": dialogs.dialog_summary(dialog)})


def _ack(client_id: str, dialog_id: str, seq: int, duplicate: bool) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "dialog_id": dialog_id, "seq": seq,
            "duplicate": duplicate}


Handler = Callable[[Connection, protocol.Frame, Outbox], None]
_VISITOR: dict[str, Handler] = {
    "resume": _visitor_resume, "message": _visitor_message, "typing": _visitor_typing, "ping": _ping,
}
_OPERATOR: dict[str, Handler] = {
    "subscribe": _operator_subscribe, "history": _operator_history, "message": _operator_message,
    "typing": _operator_typing, "ping": _ping,
}
