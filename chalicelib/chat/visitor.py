"""A visitor's frames: resume, message, upload, typing, the offline form, asking for a person."""
from __future__ import annotations

from typing import Any

from chalicelib import protocol
from chalicelib.chat.messages import history_page, ping, post_from_socket
from chalicelib.chat.opening import next_open_dialog, open_dialog_id, open_or_new_dialog
from chalicelib.chat.uploads import attached_file, upload_answer
from chalicelib.dialogs import rules, updates
from chalicelib.proactive import live, monitor
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import answertime, firstline, reception
from chalicelib.shared import sources
from chalicelib.shared.clock import now_ms
from chalicelib.shared.errors import Invalid, NotFound
from chalicelib.site import siteconfig
from chalicelib.storage import connection_store, dialog_store, visitor_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.message_store import Message
from chalicelib.visitors import tracking


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
    dialog_id = conn.dialog_id or open_or_new_dialog(conn, frame.greeting_id, outbox)
    guard = (Dialog.visitor_id == conn.subject_id) & (Dialog.status == "open")
    file = attached_file(conn, frame.file) if frame.file else None
    stored = post_from_socket(conn, frame, file, dialog_id, guard, rules.visitor_author(), outbox)
    if stored is None:  # the dialog was closed: the visitor's next message opens a new one
        dialog_id = next_open_dialog(conn, dialog_id, frame.greeting_id, outbox)
        stored = post_from_socket(conn, frame, file, dialog_id, guard, rules.visitor_author(), outbox)
        if stored is None:
            raise NotFound("dialog not found", client_id=frame.client_id)
    if conn.dialog_id != dialog_id:
        connection_store.set_connection_dialog(conn.connection_id, dialog_id)
    message, dialog = stored.message, stored.dialog
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
    updates.email_changed(visitor, outbox)
    outbox.add(audience.operators(conn.site_id),
               {"type": "visitor", "visitor": tracking.full_card(visitor, setup)})
    monitor.push_live(visitor, outbox)


def _visitor_upload(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    outbox.add([conn.connection_id], upload_answer(frame, conn.site_id, conn.subject_id))


def _visitor_typing(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog_id = conn.dialog_id or open_dialog_id(conn.subject_id)
    if not dialog_id:
        return
    outbox.add(audience.operators(conn.site_id), {
        "type": "typing", "dialog_id": dialog_id, "author": rules.visitor_author(),
        "text": frame.text or "",
    })


def _visitor_leave_message(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    """The offline form: the visitor's contact goes on their card, the message is stored like
    any other (once per client id), the auto-responder answers and the operators get an email."""
    reception.remember_contact(conn, frame.email or "", frame.name, outbox)
    if not conn.dialog_id:  # a left message is for people: the bot does not take it
        dialog_id = open_or_new_dialog(conn, None, outbox, bot=False)
        connection_store.set_connection_dialog(conn.connection_id, dialog_id)
        conn.dialog_id = dialog_id
    _visitor_message(conn, protocol.Frame("message", client_id=frame.client_id, text=frame.text), outbox)
    open_id = open_dialog_id(conn.subject_id)
    if open_id:
        reception.message_left(conn, open_id, frame, outbox)


def _visitor_handoff(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    dialog_id = conn.dialog_id or open_dialog_id(conn.subject_id)
    dialog = dialog_store.get_dialog(dialog_id) if dialog_id else None
    if dialog is None or dialog.visitor_id != conn.subject_id or dialog.status != "open":
        raise NotFound("dialog not found")
    firstline.hand_off(dialog, "asked for a person", outbox)


HANDLERS = {
    "resume": _visitor_resume, "message": _visitor_message, "upload": _visitor_upload, "typing": _visitor_typing,
    "ping": ping, "leave_message": _visitor_leave_message, "handoff": _visitor_handoff,
}
