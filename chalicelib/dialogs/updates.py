"""Changes to a visitor's dialogs that operators and the visitor's tabs must see at once:
a dialog's new summary, the visitor's name and email on every dialog of theirs."""
from __future__ import annotations

from chalicelib.dialogs import rules
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.storage import dialog_list_store, dialog_store
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import cards

MAX_DIALOGS_ON_CARD = 100


def dialog_changed(dialog: Dialog, outbox: Outbox) -> None:
    """The dialog's new summary, to the site's operators."""
    outbox.add(audience.operators(dialog.site_id), {"type": "dialog", "dialog": rules.dialog_summary(dialog)})


def rename_dialogs(visitor: Visitor, outbox: Outbox) -> None:
    name = cards.display_name(visitor.visitor_id, visitor.name)
    for dialog in dialog_list_store.visitor_dialogs(visitor.visitor_id, MAX_DIALOGS_ON_CARD):
        renamed = dialog_store.set_visitor_on_dialog(dialog.dialog_id, name, visitor.email)
        if renamed is not None:
            dialog_changed(renamed, outbox)


def email_changed(visitor: Visitor, outbox: Outbox) -> None:
    """The visitor's dialogs show (and the mail mirror uses) the new email; the visitor's
    tabs learn that answers will also come by email."""
    rename_dialogs(visitor, outbox)
    if visitor.email:
        outbox.add(audience.visitor_tabs(visitor.visitor_id), {"type": "email", "email": visitor.email})
