"""A visitor's dialog: found, or created on their first message (two tabs racing get the same
one), routed to an operator or given to the bot; a greeting it answers becomes its first message."""
from __future__ import annotations

from chalicelib.dialogs import posting, rules
from chalicelib.proactive import greetings
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import assign, firstline
from chalicelib.shared.clock import new_id, now_ms
from chalicelib.shared.errors import NotFound
from chalicelib.site import siteconfig
from chalicelib.storage import dialog_store, site_store, visitor_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import cards


def open_dialog_id(visitor_id: str) -> str | None:
    visitor = visitor_store.get_visitor(visitor_id)
    return visitor.open_dialog_id if visitor else None


def open_or_new_dialog(conn: Connection, greeting_id: str | None, outbox: Outbox, bot: bool = True) -> str:
    visitor = visitor_store.get_visitor(conn.subject_id)
    return ((visitor.open_dialog_id if visitor else None)
            or _start_dialog(conn, visitor, None, greeting_id, outbox, bot))


def next_open_dialog(conn: Connection, closed: str, greeting_id: str | None, outbox: Outbox) -> str:
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
    tabs = set(audience.visitor_tabs(conn.subject_id)) | {conn.connection_id}
    dialog.visitor_conns = tabs
    dialog_store.put_dialog(dialog)
    if visitor_store.claim_open_dialog(conn.subject_id, dialog.dialog_id, replacing):
        if greeting_id:
            _store_greeting(conn, dialog.dialog_id, greeting_id, outbox)
        if dialog.bot != "active":
            assign.route(dialog, outbox)
        return dialog.dialog_id
    dialog_store.delete_dialog(dialog.dialog_id)
    winner = open_dialog_id(conn.subject_id)
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
    draft = posting.Draft(dialog_id, f"greeting-{dialog_id}", author, greeting.text or "", created_at=int(greeting.at))
    stored = posting.store(draft, Dialog.visitor_id == conn.subject_id)
    if stored is not None and stored.dialog is not None and not stored.duplicate:
        posting.deliver(stored.dialog, stored.message, outbox, conn.connection_id)
