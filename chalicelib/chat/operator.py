"""An operator's frames: the dialog list, a dialog's history, message, upload, typing."""
from __future__ import annotations

from chalicelib import protocol
from chalicelib.chat.messages import history_page, ping, post_from_socket
from chalicelib.chat.uploads import attached_file, upload_answer
from chalicelib.dialogs import rules
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.errors import Invalid
from chalicelib.storage import dialog_list_store, routing_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog
from chalicelib.workspace import desk


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
    file = attached_file(conn, frame.file) if frame.file else None
    if post_from_socket(conn, frame, file, frame.dialog_id or "", guard, author, outbox) is None:
        desk.site_dialog(conn, frame.dialog_id)  # not found unless it is the site's
        raise Invalid("this dialog is closed; reopen it to reply", client_id=frame.client_id)


def _operator_upload(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = desk.site_dialog(conn, frame.dialog_id)
    answer = upload_answer(frame, conn.site_id, dialog.visitor_id)
    outbox.add([conn.connection_id], answer | {"dialog_id": dialog.dialog_id})


def _operator_typing(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = desk.site_dialog(conn, frame.dialog_id)
    outbox.add(dialog.visitor_conns or (), {
        "type": "typing", "dialog_id": dialog.dialog_id,
        "author": rules.operator_author(conn.subject_id, conn.name),
    })


HANDLERS = {
    "subscribe": _operator_subscribe, "history": _operator_history, "message": _operator_message,
    "upload": _operator_upload, "typing": _operator_typing, "ping": ping,
}
