"""What a visitor is told before and while they wait: whether someone is there (else the
leave-a-message form), their place in the queue; and what a left message sets off: the
auto-responder's answer and an email to the site's operators (docs/policy.md)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib import protocol
from chalicelib.dialogs import updates
from chalicelib.dialogs.posting import post
from chalicelib.mail import outbound
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import assign, policy
from chalicelib.shared.clock import now_ms
from chalicelib.shared.config import settings
from chalicelib.shared.errors import Invalid
from chalicelib.shared.sources import first_language
from chalicelib.site import settings as site_settings
from chalicelib.site import siteconfig
from chalicelib.storage import dialog_store, operator_store, routing_store, site_store, visitor_store
from chalicelib.storage.connection_store import Connection
from chalicelib.visitors import cards, tracking

logger = Logger(service="parley", child=True)

AUTOREPLY = {
    "en": "Thanks, we have your message. Nobody is at the desk right now: we will answer you by email at {email} as soon as we are back.",
    "de": "Danke, wir haben Ihre Nachricht. Gerade ist niemand da: Wir antworten Ihnen so bald wie möglich per E-Mail an {email}.",
    "es": "Gracias, tenemos su mensaje. Ahora no hay nadie: le responderemos por correo a {email} en cuanto volvamos.",
    "ru": "Спасибо, ваше сообщение получено. Сейчас никого нет на месте: мы ответим вам на {email}, как только вернёмся.",
    "ja": "メッセージを受け付けました。ただいま担当者が不在のため、戻り次第 {email} にメールでご返信します。",
    "zh": "谢谢，我们已收到您的留言。现在没有客服在线，我们回来后会尽快通过 {email} 邮件回复您。",
}


def availability_frame(site_id: str) -> dict[str, Any]:
    """Whether someone can chat now (else the widget shows the leave-a-message form)."""
    site = site_store.get_site(site_id)
    s = siteconfig.settings_of(site) if site is not None else site_settings.Settings()
    at = now_ms()
    ops = routing_store.operator_states(site_id)
    reason = policy.availability_reason(ops, at, site_settings.within_hours(s, at))
    queue = routing_store.queue_state(site_id)
    waiting = max(0, queue.length)
    return {"type": "availability", "available": policy.chat_open(reason), "reason": reason,
            "queue": {"length": waiting,
                      "wait_seconds": policy.wait_estimate_s(waiting + 1, ops, at, queue.handle_ms)
                      if reason == "busy" else None}}


def _availability(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    outbox.add([conn.connection_id], availability_frame(conn.site_id))


def _queue(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    visitor = visitor_store.get_visitor(conn.subject_id)
    dialog = dialog_store.get_dialog(visitor.open_dialog_id) if visitor and visitor.open_dialog_id else None
    outbox.add([conn.connection_id], assign.queue_frame(dialog))


def remember_contact(conn: Connection, email: str, name: str | None, outbox: Outbox) -> None:
    """The email (and name) a visitor gives in the offline form goes on their card."""
    visitor = visitor_store.get_visitor(conn.subject_id)
    if visitor is None:
        return
    wanted = {"email": email} if not visitor.verified and visitor.email != email else {}
    if name and not visitor.name:
        wanted["name"] = name
    if not wanted:
        return
    setup = siteconfig.load_site(conn.site_id)
    try:
        visitor = tracking.change(setup, visitor, lambda _v: dict(wanted), now_ms())
    except Invalid:
        return
    updates.email_changed(visitor, outbox)
    outbox.add(audience.operators(conn.site_id),
               {"type": "visitor", "visitor": tracking.full_card(visitor, setup)})


def message_left(conn: Connection, dialog_id: str, frame: protocol.Frame, outbox: Outbox) -> None:
    """The auto-responder answers the dialog's first left message; operators get an email."""
    site = site_store.get_site(conn.site_id)
    if site is None:
        return
    s = siteconfig.settings_of(site)
    visitor = visitor_store.get_visitor(conn.subject_id)
    language = first_language(AUTOREPLY, visitor.language if visitor else None, s.language)
    text = (s.autoreply or AUTOREPLY.get(language, AUTOREPLY["en"])).replace("{email}", frame.email or "")
    post(dialog_id, {"kind": "bot", "name": "Auto-reply"}, text, outbox, client_id=f"autoreply-{dialog_id}")
    _email_operators(site.site_id, site.name, frame)


def _email_operators(site_id: str, site_name: str, frame: protocol.Frame) -> None:
    who = f"{frame.name} <{frame.email}>" if frame.name else frame.email or ""
    link = f"{settings.public_url.rstrip('/')}/console/" if settings.public_url else ""
    text = (f"{who} left a message on {site_name} while nobody was available:\n\n{frame.text}\n\n"
            f"Answer in the console{': ' + link if link else ''}. Your answer is emailed to them.")
    for op in operator_store.site_operators(site_id):
        if op.email and cards.is_email(op.email):
            outbound.send_text(op.email, f"New message from {who} ({site_name})", text, f"{site_name} (Parley)")


HANDLERS: dict[str, Callable[[Connection, protocol.Frame, Outbox], None]] = {
    "availability": _availability, "queue": _queue,
}

