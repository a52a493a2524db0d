"""Messages the server writes itself (transfer notes, the bot, the auto-responder) and the
fan-out every stored message takes: to the visitor's tabs (never a note) and the operators."""
from __future__ import annotations

from typing import Any

from chalicelib.dialogs import files, rules
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.clock import new_id, now_ms
from chalicelib.storage import blobs, connection_store, dialog_store, message_store
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.message_store import Message


def post(dialog_id: str, author: dict[str, Any], text: str, outbox: Outbox, *, note: bool = False,
         wait: str | None = None, client_id: str | None = None) -> tuple[Dialog, Message] | None:
    """Stores a server-made message (once per `client_id`) and delivers it; None when the
    dialog is gone or the id was used."""
    dialog = dialog_store.record_message(dialog_id, Dialog.dialog_id.exists(), author,
                                   rules.message_preview(text, None), now_ms(), wait)
    if dialog is None:
        return None
    message = Message(dialog_id, client_id or new_id("sys"), seq=dialog.last_seq, author=author, text=text,
                      created_at=now_ms(), note=True if note else None)
    if not message_store.insert_message(message):
        return None
    deliver(dialog, message, outbox)
    return dialog, message


def message_view(message: Message, for_operator: bool = False) -> dict[str, Any]:
    """A message's view with a fresh download link for its file (an operator's view also
    shows the email it came from)."""
    file = message.file
    url = None
    if file is not None:
        url = blobs.presigned_get(file.key, file.content_type, files.disposition(file.name, file.content_type),
                                  files.DOWNLOAD_EXPIRES_S)
    return rules.message_view(message, url, for_operator)


def deliver(dialog: Dialog, message: Message, outbox: Outbox, sending_tab: str | None = None) -> None:
    """A stored message to the dialog's visitor tabs (never a note; `sending_tab` too) and
    to the site's operators, whatever it came from (a socket, an email)."""
    if not message.note:
        visitor_tabs = set(dialog.visitor_conns or ())
        if sending_tab:
            visitor_tabs.add(sending_tab)
        outbox.add(visitor_tabs, {"type": "message", "message": message_view(message)})
    operators = connection_store.channel_connections(f"ops#{dialog.site_id}")
    outbox.add(operators, {"type": "message", "message": message_view(message, for_operator=True),
                           "dialog": rules.dialog_summary(dialog)})


