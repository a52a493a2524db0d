"""The websocket service: $connect, $default frames and $disconnect, for visitors and operators.

Each handler reads the connection's identity (stored at $connect), validates the frame, does its
storage work through `storage.access`, and queues frames in an Outbox that is posted at the end.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib import protocol
from chalicelib.dialogs import files, rules
from chalicelib.dialogs.posting import deliver, message_view
from chalicelib.mail import mirror
from chalicelib.proactive import editor, greetings, live, monitor
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import answertime, assign, firstline, ratings, reception, team
from chalicelib.shared import sources
from chalicelib.shared.auth import read_token
from chalicelib.shared.clock import new_id, now_ms, now_s
from chalicelib.shared.config import settings
from chalicelib.shared.errors import Invalid, NotFound, ParleyError, Unauthorized
from chalicelib.site import siteconfig
from chalicelib.storage import (
    blobs,
    connection_store,
    dialog_list_store,
    dialog_store,
    message_store,
    routing_store,
    site_store,
    visitor_store,
)
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.message_store import FileAttribute, Message
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import blocking, cards, tracking
from chalicelib.workspace import desk

logger = Logger(service="parley", child=True)
CONNECTION_TTL_S = 3 * 3600  # API Gateway closes a websocket after 2 hours at the latest
OPENING_MS = 10_000  # a connection this young may still be in its $connect


@dataclass(frozen=True)
class ConnectRequest:
    connection_id: str
    query: dict[str, str]
    headers: dict[str, str]
    source_ip: str = ""


def connect(request: ConnectRequest, endpoint: str | None = None) -> int:
    """Authenticates a new websocket and remembers who it is; an operator's console makes them
    present (told to the team through `endpoint`). Returns the HTTP status."""
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
    if claims.role == "visitor" and _blocked(claims.site_id, claims.subject, request):
        return 403
    channel = f"ops#{claims.site_id}" if claims.role == "operator" else f"vis#{claims.subject}"
    conn = Connection(
        request.connection_id, role=claims.role, site_id=claims.site_id, subject_id=claims.subject,
        name=claims.name, channel=channel, connected_at=now_ms(),
        expires_at=now_s() + CONNECTION_TTL_S,
    )
    connection_store.put_connection(conn)
    if claims.role == "operator":
        outbox = Outbox(endpoint) if endpoint else None
        team.console_connected(conn, outbox)
        if outbox is not None:
            outbox.send()
    return 200


def _header(headers: dict[str, str], name: str) -> str:
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _origin_allowed(role: str, site_id: str, origin: str) -> bool:
    if role == "operator":
        return origin in settings.console_origins
    if role != "visitor":
        return False
    site = site_store.get_site(site_id)
    return site is not None and origin in site.allowed_origins


def _blocked(site_id: str, visitor_id: str, request: ConnectRequest) -> bool:
    site = site_store.get_site(site_id)
    if site is None:
        return True
    setup = siteconfig.load(site)
    if not setup.blocks:
        return False
    client = tracking.Client(ip=request.source_ip, country=viewer_country(request.headers))
    return blocking.block_of(setup, visitor_store.get_visitor(visitor_id), client, now_ms()) is not None


def viewer_country(headers: dict[str, str]) -> str:
    """The visitor's country from CloudFront's header, when the site is behind CloudFront."""
    value = _header(headers, "cloudfront-viewer-country").strip().upper()
    return value if len(value) == 2 and value.isalpha() else ""


def disconnect(connection_id: str, endpoint: str | None = None) -> None:
    """Forgets a closed connection; a visitor's last tab closing makes the visitor leave (the
    monitor, the schedule), told to operators through `endpoint` when there is one."""
    conn = connection_store.get_connection(connection_id)
    if conn is None:
        return
    if conn.role == "visitor" and conn.dialog_id:
        dialog_store.remove_visitor_connections(conn.dialog_id, {connection_id})
    connection_store.delete_connection(connection_id)
    outbox = Outbox(endpoint) if endpoint else None
    if conn.role == "operator":
        team.console_closed(conn, outbox)
    elif outbox is not None:
        greetings.visitor_left(conn, outbox)
    if outbox is not None:
        outbox.send()


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
    conn = connection_store.get_connection(connection_id)
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
    """Deletes connections the management API called gone (410), except those still opening:
    a connection is stored during its $connect, before API Gateway can post to it, so a frame
    fanned out to it then is refused although it is about to live."""
    for connection_id in gone:
        conn = connection_store.get_connection(connection_id)
        if conn is not None and now_ms() - int(conn.connected_at) < OPENING_MS:
            continue
        disconnect(connection_id)


# --- visitor frames ---------------------------------------------------------------------

def _visitor_resume(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    """The visitor's current dialog: the open one, else the last one (closed) so that a reload
    still shows the conversation; the connection subscribes to it."""
    dialog_id = conn.dialog_id or visitor_store.latest_dialog_id(conn.subject_id)
    reply: dict[str, Any] = {"type": "history", "dialog_id": dialog_id, "messages": [], "more": False,
                             "next_after": frame.after_seq, "closed": False}
    if dialog_id:
        dialog = dialog_store.add_visitor_connection(dialog_id, conn.subject_id, conn.connection_id)
        if dialog is None:
            raise NotFound("dialog not found")
        if conn.dialog_id != dialog_id:
            connection_store.set_connection_dialog(conn.connection_id, dialog_id)
        reply.update(history_page(dialog_id, frame.after_seq, for_visitor=True), closed=dialog.status == "closed")
    outbox.add([conn.connection_id], reply)
    outbox.add([conn.connection_id], reception.availability_frame(conn.site_id))
    live.evaluate_now(conn, False, outbox)


def _visitor_message(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog_id = conn.dialog_id or _open_or_new_dialog(conn, frame.greeting_id, outbox)
    guard = (Dialog.visitor_id == conn.subject_id) & (Dialog.status == "open")
    file = _attached_file(conn, frame.file) if frame.file else None
    stored = _store_message(conn, frame, file, dialog_id, guard, rules.visitor_author(), outbox)
    if stored is None:  # the dialog was closed: the visitor's next message opens a new one
        dialog_id = _next_open_dialog(conn, dialog_id, frame.greeting_id, outbox)
        stored = _store_message(conn, frame, file, dialog_id, guard, rules.visitor_author(), outbox)
        if stored is None:
            raise NotFound("dialog not found", client_id=frame.client_id)
    if conn.dialog_id != dialog_id:
        connection_store.set_connection_dialog(conn.connection_id, dialog_id)
    message, dialog = stored
    if message.text:
        _capture_email(conn, message.text, outbox)
    _after_visitor_message(dialog or dialog_store.get_dialog(dialog_id), message, outbox)


def _after_visitor_message(dialog: Dialog | None, stored: Message, outbox: Outbox) -> None:
    """The bot answers when it has the dialog; else the answer-time rule looks at it now."""
    if dialog is None:
        return
    if dialog.bot == "active":
        firstline.respond(dialog, stored, outbox)
    else:
        answertime.review_one(dialog, outbox)


def _capture_email(conn: Connection, text: str, outbox: Outbox) -> None:
    """An email address the visitor writes in the chat goes onto their card at once."""
    email = sources.find_email(text)
    if email is None:
        return
    visitor = visitor_store.get_visitor(conn.subject_id)
    if visitor is None or visitor.email or visitor.verified:
        return
    setup = siteconfig.load_site(conn.site_id)
    try:
        visitor = tracking.change(setup, visitor, lambda _v: {"email": email}, now_ms())
    except Invalid:
        return
    desk.email_changed(visitor, outbox)
    outbox.add(connection_store.channel_connections(f"ops#{conn.site_id}"),
               {"type": "visitor", "visitor": tracking.full_card(visitor, setup)})
    monitor.push_live(visitor, outbox)


def _visitor_upload(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    outbox.add([conn.connection_id], _upload_answer(frame, conn.site_id, conn.subject_id))


def _visitor_typing(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog_id = conn.dialog_id or _open_dialog_id(conn.subject_id)
    if not dialog_id:
        return
    outbox.add(connection_store.channel_connections(f"ops#{conn.site_id}"), {
        "type": "typing", "dialog_id": dialog_id, "author": rules.visitor_author(),
        "text": frame.text or "",
    })


def _open_dialog_id(visitor_id: str) -> str | None:
    visitor = visitor_store.get_visitor(visitor_id)
    return visitor.open_dialog_id if visitor else None


def _open_or_new_dialog(conn: Connection, greeting_id: str | None, outbox: Outbox, bot: bool = True) -> str:
    visitor = visitor_store.get_visitor(conn.subject_id)
    return ((visitor.open_dialog_id if visitor else None)
            or _start_dialog(conn, visitor, None, greeting_id, outbox, bot))


def _next_open_dialog(conn: Connection, closed: str, greeting_id: str | None, outbox: Outbox) -> str:
    """The visitor's open dialog once `closed` was closed: another tab's new one, or a new one."""
    visitor = visitor_store.get_visitor(conn.subject_id)
    current = visitor.open_dialog_id if visitor else None
    if current and current != closed:
        return current
    return _start_dialog(conn, visitor, closed, greeting_id, outbox)


def _start_dialog(conn: Connection, visitor: Visitor | None, replacing: str | None,
                  greeting_id: str | None, outbox: Outbox, bot: bool = True) -> str:
    """Creates the visitor's dialog on its first message; two tabs racing get the same one.
    A greeting the visitor answers becomes the dialog's first message."""
    dialog = rules.new_dialog(new_id("d"), conn.site_id, conn.subject_id, now_ms())
    dialog.previous_dialog_id = replacing
    site = site_store.get_site(conn.site_id)
    if bot and site is not None and siteconfig.settings_of(site).bot_enabled and firstline.has_faqs(conn.site_id):
        dialog.bot = "active"
    if visitor is not None and (visitor.name or visitor.email):
        dialog.visitor_name = cards.display_name(visitor.visitor_id, visitor.name)
        dialog.visitor_email = visitor.email
    if visitor is not None and visitor.segments:
        dialog.visitor_segments = set(visitor.segments)
    tabs = set(connection_store.channel_connections(f"vis#{conn.subject_id}")) | {conn.connection_id}
    dialog.visitor_conns = tabs
    dialog_store.put_dialog(dialog)
    if visitor_store.claim_open_dialog(conn.subject_id, dialog.dialog_id, replacing):
        if greeting_id:
            _store_greeting(conn, dialog.dialog_id, greeting_id, outbox)
        if dialog.bot != "active":
            assign.route(dialog, outbox)
        return dialog.dialog_id
    dialog_store.delete_dialog(dialog.dialog_id)
    winner = _open_dialog_id(conn.subject_id)
    if winner is None or winner == replacing:
        raise NotFound("visitor not found")
    return winner


def _store_greeting(conn: Connection, dialog_id: str, greeting_id: str, outbox: Outbox) -> None:
    """The greeting a new dialog answers, stored as its first message (once: keyed by the
    greeting) and counted as accepted."""
    at = now_ms()
    greeting = greetings.accepted_greeting(conn.subject_id, greeting_id, at)
    if greeting is None or greeting.author is None:
        return
    author = rules.author_dict(greeting.author)
    guard = Dialog.visitor_id == conn.subject_id
    dialog = dialog_store.record_message(dialog_id, guard, author, rules.message_preview(greeting.text or "", None), at)
    if dialog is None:
        return
    message = Message(dialog_id, f"greeting-{dialog_id}", seq=dialog.last_seq, author=author,
                      text=greeting.text or "", created_at=greeting.at)
    if message_store.insert_message(message):
        _fan_out(conn, dialog, message, outbox)


def _visitor_leave_message(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    """The offline form: the visitor's contact goes on their card, the message is stored like
    any other (once per client id), the auto-responder answers and the operators get an email."""
    reception.remember_contact(conn, frame.email or "", frame.name, outbox)
    if not conn.dialog_id:  # a left message is for people: the bot does not take it
        dialog_id = _open_or_new_dialog(conn, None, outbox, bot=False)
        connection_store.set_connection_dialog(conn.connection_id, dialog_id)
        conn.dialog_id = dialog_id
    _visitor_message(conn, protocol.Frame("message", client_id=frame.client_id, text=frame.text), outbox)
    dialog_id = _open_dialog_id(conn.subject_id)
    if dialog_id:
        reception.message_left(conn, dialog_id, frame, outbox)


def _visitor_handoff(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    dialog_id = conn.dialog_id or _open_dialog_id(conn.subject_id)
    dialog = dialog_store.get_dialog(dialog_id) if dialog_id else None
    if dialog is None or dialog.visitor_id != conn.subject_id or dialog.status != "open":
        raise NotFound("dialog not found")
    firstline.hand_off(dialog, "asked for a person", outbox)


# --- operator frames --------------------------------------------------------------------

def _operator_subscribe(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    assignee = {"me": conn.subject_id, "none": rules.NOBODY}.get(frame.assignee or "", frame.assignee)
    if assignee:
        page, cursor = dialog_list_store.dialogs_of_assignee(conn.site_id, frame.status, assignee, frame.cursor,
                                                  protocol.DIALOG_PAGE, frame.tag, frame.segment)
    else:
        page, cursor = dialog_list_store.dialogs_in_status(conn.site_id, frame.status, frame.cursor,
                                                protocol.DIALOG_PAGE, frame.tag, frame.segment)
    head = routing_store.queue_state(conn.site_id).head if frame.status == "open" else None
    outbox.add([conn.connection_id], {
        "type": "dialogs", "status": frame.status, "assignee": frame.assignee, "tag": frame.tag,
        "segment": frame.segment,
        "dialogs": [rules.dialog_summary(d, head) for d in page], "cursor": cursor,
    })


def _operator_history(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = desk.site_dialog(conn, frame.dialog_id)
    reply = {"type": "history", "dialog_id": dialog.dialog_id}
    reply.update(history_page(dialog.dialog_id, frame.after_seq, for_visitor=False))
    outbox.add([conn.connection_id], reply)


def _operator_message(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    author = rules.operator_author(conn.subject_id, conn.name)
    guard = (Dialog.site_id == conn.site_id) & (Dialog.status == "open")
    file = _attached_file(conn, frame.file) if frame.file else None
    if _store_message(conn, frame, file, frame.dialog_id or "", guard, author, outbox) is None:
        desk.site_dialog(conn, frame.dialog_id)  # not found unless it is the site's
        raise Invalid("this dialog is closed; reopen it to reply", client_id=frame.client_id)


def _operator_upload(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = desk.site_dialog(conn, frame.dialog_id)
    answer = _upload_answer(frame, conn.site_id, dialog.visitor_id)
    outbox.add([conn.connection_id], answer | {"dialog_id": dialog.dialog_id})


def _operator_typing(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = desk.site_dialog(conn, frame.dialog_id)
    outbox.add(dialog.visitor_conns or (), {
        "type": "typing", "dialog_id": dialog.dialog_id,
        "author": rules.operator_author(conn.subject_id, conn.name),
    })


# --- shared -----------------------------------------------------------------------------

def _ping(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    outbox.add([conn.connection_id], {"type": "pong"})


def history_page(dialog_id: str, after_seq: int, for_visitor: bool) -> dict[str, Any]:
    """One page of a dialog after `after_seq`; a visitor's page leaves notes out (server-side:
    a note is never in a visitor's frame). `next_after` is where the next page starts."""
    found = message_store.messages_after(dialog_id, after_seq, protocol.HISTORY_PAGE + 1)
    page = found[: protocol.HISTORY_PAGE]
    shown = [m for m in page if not (for_visitor and m.note)]
    views = [message_view(m, for_operator=not for_visitor) for m in shown]
    return {"messages": views, "more": len(found) > len(page),
            "next_after": int(page[-1].seq) if page else after_seq}


def _upload_answer(frame: protocol.Frame, site_id: str, visitor_id: str) -> dict[str, Any]:
    upload = frame.upload
    assert upload is not None
    key = files.key_for(site_id, visitor_id, new_id("f"))
    signed = blobs.presigned_post(key, upload.content_type, files.MAX_BYTES, files.UPLOAD_EXPIRES_S)
    return {"type": "upload", "client_id": frame.client_id, "url": signed["url"], "fields": signed["fields"],
            "file": {"key": key, "name": upload.name}, "max_bytes": files.MAX_BYTES}


def _attached_file(conn: Connection, ref: protocol.FileRef) -> FileAttribute:
    """The uploaded file a message attaches, checked: the sender's to attach, there, in limits."""
    own_folder = conn.subject_id if conn.role == "visitor" else None
    if not files.key_allowed(ref.key, conn.site_id, own_folder):
        raise Invalid("file is not one of this conversation's uploads")
    stored = blobs.head(ref.key)
    if stored is None:
        raise Invalid("the file was not uploaded (or the upload failed); attach it again")
    if stored.size > files.MAX_BYTES or stored.content_type not in files.CONTENT_TYPES:
        raise Invalid("the file is over the limits")
    return FileAttribute(key=ref.key, name=ref.name, size=stored.size, content_type=stored.content_type)


def _store_message(conn: Connection, frame: protocol.Frame, file: FileAttribute | None, dialog_id: str,
                   guard: Any, author: dict[str, Any], outbox: Outbox) -> tuple[Message, Dialog | None] | None:
    """Stores a message (with its checked `file`) once whatever the retries, acks it, and fans
    it out: the message and the dialog as the write left it (None for a retry of a message
    stored before its dialog closed). None when the guard refuses the dialog (gone, not the
    sender's, or closed) and this is no retry of a message already stored there."""
    text, client_id = frame.text or "", frame.client_id or ""
    at = now_ms()
    preview = rules.message_preview(text, file.name if file else None)
    wait = "start" if author["kind"] == "visitor" else (None if frame.note else "stop")
    dialog = dialog_store.record_message(dialog_id, guard, author, preview, at, wait)
    if dialog is None:
        retried = _answer_retry(conn, dialog_id, client_id, author, outbox)
        return (retried, None) if retried is not None else None
    message = Message(dialog_id, client_id, seq=dialog.last_seq, author=author, text=text, created_at=at,
                      note=True if frame.note else None, file=file)
    duplicate = not message_store.insert_message(message)
    if duplicate:
        message = _stored_retry(dialog_id, client_id, author)
    else:
        if author["kind"] == "operator" and not frame.note:
            dialog = _operator_answered(dialog, author, outbox)
        mirror.answer_stored(dialog, message)
    outbox.add([conn.connection_id], _ack(client_id, dialog_id, int(message.seq), duplicate))
    _fan_out(conn, dialog, message, outbox)
    return message, dialog


def _answer_retry(conn: Connection, dialog_id: str, client_id: str, author: dict[str, Any],
                  outbox: Outbox) -> Message | None:
    """A retry of a message stored before its dialog closed is acked, never stored again."""
    stored = _authors_message(dialog_id, client_id, author) if dialog_id else None
    if stored is None:
        return None
    outbox.add([conn.connection_id], _ack(client_id, dialog_id, int(stored.seq), True))
    return stored


def _operator_answered(dialog: Dialog, author: dict[str, Any], outbox: Outbox) -> Dialog:
    """An operator's answer ends the bot's turn, and the first operator to answer a dialog
    nobody has takes it (when they have room)."""
    if dialog.bot == "active":
        dialog = dialog_store.set_dialog_fields(dialog.dialog_id, [Dialog.bot.set("handed_off")]) or dialog
    if not dialog.assignee_id:
        assign.first_reply(dialog, author["id"], outbox)
        dialog = dialog_store.get_dialog(dialog.dialog_id) or dialog
    return dialog


def _stored_retry(dialog_id: str, client_id: str, author: dict[str, Any]) -> Message:
    """The message a retry refers to; its client id must be the same author's."""
    stored = _authors_message(dialog_id, client_id, author)
    if stored is None:
        raise Invalid("client_id was already used for another message", client_id=client_id)
    return stored


def _authors_message(dialog_id: str, client_id: str, author: dict[str, Any]) -> Message | None:
    """The stored message with this client id, if `author` wrote it."""
    stored = message_store.get_message(dialog_id, client_id)
    if stored is None or not rules.same_author(rules.author_dict(stored.author), author):
        return None
    return stored


def _fan_out(conn: Connection, dialog: Dialog, message: Message, outbox: Outbox) -> None:
    """To the visitor's tabs (never a note) and the site's operators. A retry is delivered
    again with its original seq (clients drop a seq they have), so a send cut off between
    storing and delivering still reaches everyone."""
    deliver(dialog, message, outbox, conn.connection_id if conn.role == "visitor" else None)


def _ack(client_id: str, dialog_id: str, seq: int, duplicate: bool) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "dialog_id": dialog_id, "seq": seq,
            "duplicate": duplicate}


Handler = Callable[[Connection, protocol.Frame, Outbox], None]
_VISITOR: dict[str, Handler] = {
    "resume": _visitor_resume, "message": _visitor_message, "upload": _visitor_upload,
    "typing": _visitor_typing, "ping": _ping, "leave_message": _visitor_leave_message,
    "handoff": _visitor_handoff, **live.HANDLERS, **reception.HANDLERS, **ratings.HANDLERS,
}
_OPERATOR: dict[str, Handler] = {
    "subscribe": _operator_subscribe, "history": _operator_history, "message": _operator_message,
    "upload": _operator_upload, "typing": _operator_typing, "ping": _ping,
    **desk.HANDLERS, **editor.HANDLERS, **monitor.HANDLERS, **greetings.HANDLERS, **team.HANDLERS,
}
