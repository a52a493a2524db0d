"""THE message write path, for every author: a visitor, an operator, the server (notes, the
bot, the auto-responder), an accepted greeting, an inbound email. `store` writes a message once
whatever the retries and says what it stored; it calls nothing upward (no routing, no mail):
each handler composes the after-effects in its own visible order. `deliver` is the fan-out
every stored message takes."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.dialogs import files, rules
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.clock import new_id, now_ms
from chalicelib.shared.errors import Invalid
from chalicelib.storage import blobs, dialog_store, message_store
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.message_store import FileAttribute, Message


@dataclass(frozen=True)
class Draft:
    """A message to store. `wait`: "start" (the visitor now waits for an answer), "stop" (an
    answer) or None. `created_at`: when it was written, if not now (a greeting: when shown)."""
    dialog_id: str
    client_id: str
    author: dict[str, Any]
    text: str = ""
    file: FileAttribute | None = None
    note: bool = False
    wait: str | None = None
    created_at: int | None = None
    email: Mapping[str, Any] = field(default_factory=dict)  # via, email_from, ... (inbound mail)


@dataclass(frozen=True)
class Stored:
    """What `store` stored: the message; the dialog as the write left it (None for a retry of
    a message stored before its dialog closed); whether this was a retry."""
    message: Message
    dialog: Dialog | None
    duplicate: bool


def store(draft: Draft, guard: Condition) -> Stored | None:
    """Stores a message once: the dialog's next seq, then the message keyed by its client id.
    None when the guard refuses the dialog (gone, not the author's to write, closed) and this
    is no retry of a message the same author stored there."""
    at = now_ms()
    preview = rules.message_preview(draft.text, draft.file.name if draft.file else None)
    dialog = dialog_store.record_message(draft.dialog_id, guard, draft.author, preview, at, draft.wait)
    if dialog is None:
        earlier = authors_message(draft.dialog_id, draft.client_id, draft.author) if draft.dialog_id else None
        return Stored(earlier, None, True) if earlier is not None else None
    message = Message(draft.dialog_id, draft.client_id, seq=dialog.last_seq, author=draft.author,
                      text=draft.text, created_at=draft.created_at or at, note=True if draft.note else None,
                      file=draft.file, **draft.email)
    if message_store.insert_message(message):
        return Stored(message, dialog, False)
    earlier = authors_message(draft.dialog_id, draft.client_id, draft.author)
    if earlier is None:
        raise Invalid("client_id was already used for another message", client_id=draft.client_id)
    return Stored(earlier, dialog, True)


def authors_message(dialog_id: str, client_id: str, author: dict[str, Any]) -> Message | None:
    """The stored message with this client id, if `author` wrote it."""
    stored = message_store.get_message(dialog_id, client_id)
    if stored is None or not rules.same_author(rules.author_dict(stored.author), author):
        return None
    return stored


def post(dialog_id: str, author: dict[str, Any], text: str, outbox: Outbox, *, note: bool = False,
         wait: str | None = None, client_id: str | None = None) -> tuple[Dialog, Message] | None:
    """A server-made message (once per `client_id`), stored and delivered; None when the
    dialog is gone or the message was stored before."""
    draft = Draft(dialog_id, client_id or new_id("sys"), author, text, note=note, wait=wait)
    try:
        stored = store(draft, Dialog.dialog_id.exists())
    except Invalid:  # another author took this id (a visitor can pick "bot-..."): nothing is posted
        return None
    if stored is None or stored.duplicate or stored.dialog is None:
        return None
    deliver(stored.dialog, stored.message, outbox)
    return stored.dialog, stored.message


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
        outbox.add(audience.dialog_tabs(dialog, sending_tab), {"type": "message", "message": message_view(message)})
    outbox.add(audience.operators(dialog.site_id), {"type": "message", "message": message_view(message, for_operator=True),
                                                    "dialog": rules.dialog_summary(dialog)})


def history_page(dialog_id: str, after_seq: int, page_size: int, for_visitor: bool) -> dict[str, Any]:
    """One page of a dialog after `after_seq`; a visitor's page leaves notes out (server-side:
    a note is never in a visitor's frame). `next_after` is where the next page starts."""
    found = message_store.messages_after(dialog_id, after_seq, page_size + 1)
    page = found[:page_size]
    shown = [m for m in page if not (for_visitor and m.note)]
    views = [message_view(m, for_operator=not for_visitor) for m in shown]
    return {"messages": views, "more": len(found) > len(page),
            "next_after": int(page[-1].seq) if page else after_seq}
