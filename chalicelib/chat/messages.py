"""A message from a socket (a visitor's or an operator's): stored once through the one write
path (dialogs.posting), then its after-effects in one visible order: an operator's answer
takes the dialog, the ack, the fan-out, the email mirror. The visitor's path adds its own
after-effects (chat.visitor)."""
from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib import protocol
from chalicelib.dialogs import posting
from chalicelib.mail import mirror
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import assign
from chalicelib.storage import dialog_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.message_store import FileAttribute


def ping(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    outbox.add([conn.connection_id], {"type": "pong"})


def history_page(dialog_id: str, after_seq: int, for_visitor: bool) -> dict[str, Any]:
    return posting.history_page(dialog_id, after_seq, protocol.HISTORY_PAGE, for_visitor)


def post_from_socket(conn: Connection, frame: protocol.Frame, file: FileAttribute | None, dialog_id: str,
                     guard: Condition, author: dict[str, Any], outbox: Outbox) -> posting.Stored | None:
    """Stores a message (with its checked `file`) once whatever the retries, acks it and fans
    it out. None when the guard refuses the dialog (gone, not the sender's, or closed) and this
    is no retry of a message already stored there. A retry is acked with its original seq and
    delivered again (clients drop a seq they have), so a send cut off between storing and
    delivering still reaches everyone; a retry of a message stored before its dialog closed is
    acked only."""
    wait = "start" if author["kind"] == "visitor" else (None if frame.note else "stop")
    draft = posting.Draft(dialog_id, frame.client_id or "", author, frame.text or "", file,
                          note=bool(frame.note), wait=wait)
    stored = posting.store(draft, guard)
    if stored is None:
        return None
    dialog = stored.dialog
    if dialog is not None and not stored.duplicate and author["kind"] == "operator" and not frame.note:
        dialog = _operator_answered(dialog, author, outbox)
    outbox.add([conn.connection_id], ack(draft.client_id, dialog_id, int(stored.message.seq), stored.duplicate))
    if dialog is None:
        return stored
    posting.deliver(dialog, stored.message, outbox, conn.connection_id if conn.role == "visitor" else None)
    if not stored.duplicate:
        mirror.answer_stored(dialog, stored.message)
    return posting.Stored(stored.message, dialog, stored.duplicate)


def _operator_answered(dialog: Dialog, author: dict[str, Any], outbox: Outbox) -> Dialog:
    """An operator's answer ends the bot's turn, and the first operator to answer a dialog
    nobody has takes it (when they have room)."""
    if dialog.bot == "active":
        dialog = dialog_store.set_dialog_fields(dialog.dialog_id, [Dialog.bot.set("handed_off")]) or dialog
    if not dialog.assignee_id:
        assign.first_reply(dialog, author["id"], outbox)
        dialog = dialog_store.get_dialog(dialog.dialog_id) or dialog
    return dialog


def ack(client_id: str, dialog_id: str, seq: int, duplicate: bool) -> dict[str, Any]:
    return {"type": "ack", "client_id": client_id, "dialog_id": dialog_id, "seq": seq,
            "duplicate": duplicate}
