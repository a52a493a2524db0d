"""Unsubscribing from emailed answers: the link in every email and List-Unsubscribe.

Opening the link shows a page with a button (a mail scanner following links must not
unsubscribe anyone); the button, and a mail client's one-click POST (RFC 8058), unsubscribe.
The token is signed per site, so nobody can unsubscribe someone else.
"""
from __future__ import annotations

from html import escape

from chalicelib.mail import mirror, tokens
from chalicelib.realtime import audience
from chalicelib.shared.config import settings
from chalicelib.shared.pages import Page, page
from chalicelib.site import siteconfig
from chalicelib.storage import visitor_store
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import tracking


def _visitor(token: object) -> Visitor | None:
    claimed = tokens.unsubscribe_visitor(token)
    visitor = visitor_store.get_visitor(claimed[0]) if claimed else None
    if claimed is None or visitor is None:
        return None
    return visitor if tokens.unsubscribe_signed(mirror.site_key(visitor.site_id), *claimed) else None


def confirm_page(token: object) -> Page:
    """What the link opens: a button that unsubscribes."""
    visitor = _visitor(token)
    if visitor is None:
        return page(404, "This link is not valid", "<p>It may have been cut off. Copy the whole link from the email.</p>")
    if visitor.mail_opt_out:
        return page(200, "You are unsubscribed", "<p>We no longer email you the answers to your chats.</p>")
    return page(200, "Stop emailing me answers?", (
        '<p>You get operators\' answers by email when you are away from the chat.</p>'
        f'<form method="post"><input type="hidden" name="t" value="{escape(str(token), quote=True)}">'
        '<button type="submit" data-testid="unsubscribe">Unsubscribe</button></form>'))


def unsubscribe(token: object) -> Page:
    """Unsubscribes the token's visitor (again is fine)."""
    visitor = _visitor(token)
    if visitor is None:
        return page(404, "This link is not valid", "<p>Nothing was changed.</p>")
    updated = visitor_store.update_visitor(visitor.visitor_id, visitor.site_id, [Visitor.mail_opt_out.set(True)])
    if updated is not None and settings.ws_endpoint:  # an open card shows it at once
        with audience.sending(settings.ws_endpoint) as outbox:
            outbox.add(audience.operators(visitor.site_id),
                       {"type": "visitor", "visitor": tracking.full_card(updated, siteconfig.load_site(visitor.site_id))})
    return page(200, "You are unsubscribed", "<p>We no longer email you the answers to your chats. "
                 "You can still chat on the site at any time.</p>")
