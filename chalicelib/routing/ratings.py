"""Ratings: after a dialog closes the visitor rates it (good or bad, and a comment) in the
widget or from an emailed answer's links; operators see it on the dialog."""
from __future__ import annotations

from collections.abc import Callable
from html import escape

from chalicelib import protocol
from chalicelib.dialogs import rules
from chalicelib.mail import mirror, tokens
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.clock import now_ms
from chalicelib.shared.errors import NotFound
from chalicelib.shared.pages import Page, page
from chalicelib.storage import dialog_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog

MAX_COMMENT_CHARS = protocol.MAX_COMMENT_CHARS


def rate(dialog: Dialog, score: str, comment: str, outbox: Outbox | None) -> Dialog:
    """Stores the visitor's rating (a new one replaces it) and tells the operators."""
    comment_action = Dialog.rating_comment.set(comment) if comment else Dialog.rating_comment.remove()
    rated = dialog_store.set_dialog_fields(dialog.dialog_id, [Dialog.rating.set(score), comment_action,
                                                        Dialog.rated_at.set(now_ms())])
    if rated is None:
        raise NotFound("dialog not found")
    if outbox is not None:
        outbox.add(audience.operators(rated.site_id),
                   {"type": "dialog", "dialog": rules.dialog_summary(rated)})
    return rated


def _rate(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = dialog_store.get_dialog(frame.dialog_id or "")
    if dialog is None or dialog.visitor_id != conn.subject_id:
        raise NotFound("dialog not found")
    rated = rate(dialog, frame.score or "good", frame.comment or "", outbox)
    outbox.add([conn.connection_id], {"type": "rated", "dialog_id": rated.dialog_id, "score": rated.rating,
                                      "comment": rated.rating_comment or ""})


HANDLERS: dict[str, Callable[[Connection, protocol.Frame, Outbox], None]] = {"rate": _rate}


# --- from an email ----------------------------------------------------------------------------

def _dialog(token: object) -> Dialog | None:
    claimed = tokens.rated_dialog(token)
    dialog = dialog_store.get_dialog(claimed[0]) if claimed else None
    if claimed is None or dialog is None:
        return None
    return dialog if tokens.rate_signed(mirror.site_key(dialog.site_id), *claimed) else None




_INVALID = ("This link is not valid", "<p>It may have been cut off. Copy the whole link from the email.</p>")


def confirm_page(token: object, score: object) -> Page:
    """What a rating link opens: the choice and a comment box (a link scanner rates nothing)."""
    dialog = _dialog(token)
    if dialog is None:
        return page(404, *_INVALID)
    chosen = score if score in protocol.SCORES else "good"
    options = "".join(
        f'<label style="margin-right:1rem"><input type="radio" name="s" value="{value}"'
        f'{" checked" if value == chosen else ""}> {label}</label>'
        for value, label in (("good", "👍 Good"), ("bad", "👎 Bad")))
    return page(200, "How was your chat with us?", (
        f'<form method="post"><input type="hidden" name="t" value="{escape(str(token), quote=True)}">'
        f'<p>{options}</p><p><label>Anything to add? (optional)<br>'
        f'<textarea name="comment" rows="4" maxlength="{MAX_COMMENT_CHARS}" style="width:100%"></textarea>'
        '</label></p><button type="submit" data-testid="rate">Send</button></form>'))


def rate_from_email(token: object, score: object, comment: object, outbox: Outbox | None) -> Page:
    dialog = _dialog(token)
    if dialog is None:
        return page(404, _INVALID[0], "<p>Nothing was changed.</p>")
    if score not in protocol.SCORES:
        return page(400, "Please choose Good or Bad", "<p>Go back and pick one.</p>")
    text = comment.strip()[:MAX_COMMENT_CHARS] if isinstance(comment, str) else ""
    rate(dialog, str(score), text, outbox)
    return page(200, "Thank you!", "<p>Your rating helps us answer better.</p>")
