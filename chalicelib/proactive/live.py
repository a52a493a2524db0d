"""A visitor's tracking frames on the websocket (track, identify, check), the trigger
evaluation each live event starts, and read marks (read)."""
from __future__ import annotations

from chalicelib import protocol
from chalicelib.dialogs import updates
from chalicelib.proactive import greetings, monitor
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared import auth
from chalicelib.shared.clock import now_ms
from chalicelib.shared.errors import NotFound
from chalicelib.site import siteconfig
from chalicelib.site.siteconfig import SiteSetup
from chalicelib.storage import dialog_mail_store, visitor_store
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import tracking


def _visitor(conn: Connection) -> tuple[SiteSetup, Visitor]:
    visitor = visitor_store.get_visitor(conn.subject_id)
    if visitor is None or visitor.site_id != conn.site_id:
        raise NotFound("visitor not found")
    return siteconfig.load_site(conn.site_id), visitor


def evaluate_now(conn: Connection, typing: bool, outbox: Outbox) -> None:
    """After a page opened (resume) or a check-in: a greeting, or when to check in."""
    setup, visitor = _visitor(conn)
    greetings.evaluate(setup, visitor, typing, now_ms(), outbox, reply_to=conn.connection_id)


def _track(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    setup, visitor = _visitor(conn)
    at = now_ms()
    visitor = tracking.record_event(setup, visitor, frame.name or "", frame.props or {}, at)
    greetings.record_goal(setup, visitor, frame.name or "", at)
    monitor.push_live(visitor, outbox)
    greetings.evaluate(setup, visitor, frame.typing, at, outbox, reply_to=conn.connection_id)


def _identify(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    setup, visitor = _visitor(conn)
    at = now_ms()
    email_before = visitor.email
    result = tracking.identify(setup, visitor, frame.identity or {}, at)
    answer: dict[str, object] = {"type": "identified", "verified": result.verified}
    if result.switch_to:
        answer |= {"visitor_id": result.switch_to, "token": auth.visitor_token(result.switch_to, conn.site_id)}
    outbox.add([conn.connection_id], answer)
    if not result.switch_to:
        if result.visitor.email != email_before:
            updates.email_changed(result.visitor, outbox)
        monitor.push_live(result.visitor, outbox)
        outbox.add(audience.operators(conn.site_id),
                   {"type": "visitor", "visitor": tracking.full_card(result.visitor, setup)})
        greetings.evaluate(setup, result.visitor, False, at, outbox, reply_to=conn.connection_id)


def _check(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    evaluate_now(conn, frame.typing, outbox)


def _read(conn: Connection, frame: protocol.Frame, _outbox: Outbox) -> None:
    """The widget showed the dialog's messages up to `seq`: answers up to there are not
    emailed (a seq past the dialog's last, or another's dialog, changes nothing)."""
    dialog_id = conn.dialog_id or visitor_store.latest_dialog_id(conn.subject_id)
    if dialog_id:
        dialog_mail_store.mark_read(dialog_id, conn.subject_id, frame.seq)


HANDLERS = {"track": _track, "identify": _identify, "check": _check, "read": _read}
