"""The dialog mirror: operator answers a visitor has not seen in the widget go to their email.

Each answer in a dialog whose visitor has an email moves the dialog's `mail_due_at` to now +
the delay (a debounce); the every-minute schedule reads the due dialogs from the sparse
mail-index and sends, per dialog, one email with every answer the visitor has neither read in
the widget (`visitor_read_seq`, from the widget's `read` frames) nor been emailed
(`mailed_seq`). A conditional claim on the schedule's state makes two runs, or a run racing a
new answer, send each answer once.
"""
from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from aws_lambda_powertools import Logger

from chalicelib.dialogs import rules
from chalicelib.mail import outbound, tokens
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.clock import now_ms
from chalicelib.shared.config import settings
from chalicelib.site import siteconfig
from chalicelib.storage import dialog_mail_store, mail_item_store, message_store, site_store, visitor_store
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.mail_item_store import MailItem
from chalicelib.storage.message_store import Message
from chalicelib.storage.site_store import Site
from chalicelib.storage.visitor_store import Visitor

if TYPE_CHECKING:
    from chalicelib.mail import compose

logger = Logger(service="parley", child=True)
MAIL_SHARDS = 4
ANSWERS_PER_EMAIL = 50
MAX_FAILURES = 3
RETRY_MS = 5 * 60_000
CHAT_FRAGMENT = "#parley-chat"  # the widget opens its panel on a page with this fragment


def shard_of(dialog_id: str) -> str:
    return f"m{zlib.crc32(dialog_id.encode()) % MAIL_SHARDS}"


def is_answer(message: Message) -> bool:
    """What the mirror emails: operators' messages, never notes."""
    return message.author.kind == "operator" and not message.note


def answer_stored(dialog: Dialog, message: Message) -> None:
    """After a message is stored: an answer to a visitor with an email is emailed after the
    delay unless the visitor reads it in the widget first."""
    if settings.mail_enabled and dialog.visitor_email and is_answer(message):
        dialog_mail_store.schedule_mail(dialog.dialog_id, shard_of(dialog.dialog_id),
                             int(message.created_at) + settings.mail_delay_s * 1000)


def site_key(site_id: str) -> bytes:
    return tokens.site_mail_secret(settings.secret, site_id)


def ses_message_ref(ses_message_id: str) -> str:
    """The Message-ID header SES gives a sent email (it replaces ours)."""
    host = "email" if settings.region == "us-east-1" else settings.region
    return f"{ses_message_id}@{host}.amazonses.com"


def chat_link(site: Site, visitor: Visitor) -> str:
    """The page the visitor chatted on, when it is one of the site's, else the site's first
    origin; the fragment opens the chat there."""
    url = (visitor.current_url or "").split("#", 1)[0]
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" not in site.allowed_origins:
        url = f"{site.allowed_origins[0]}/" if site.allowed_origins else f"{settings.public_url}/"
    return url + CHAT_FRAGMENT


def unsubscribe_link(site_id: str, visitor_id: str) -> str:
    token = tokens.unsubscribe_token(site_key(site_id), visitor_id)
    return f"{settings.public_url}/api/mail/unsubscribe?t={quote(token)}"


@dataclass
class MirrorReport:
    due: int = 0
    sent: int = 0
    read_in_widget: int = 0
    failed: int = 0
    handler_s: float = 0.0
    sites: dict[str, Site | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"due": self.due, "sent": self.sent, "read_in_widget": self.read_in_widget,
                "failed": self.failed, "handler_s": round(self.handler_s, 3)}


def run_schedule(endpoint: str, at_ms: int | None = None) -> MirrorReport:
    """The every-minute run: emails the answers of every dialog that fell due."""
    started = time.perf_counter()
    at = at_ms if at_ms is not None else now_ms()
    report = MirrorReport()
    with audience.sending(endpoint) as outbox:
        for shard in range(MAIL_SHARDS):
            for dialog in dialog_mail_store.mail_due(f"m{shard}", at):
                report.due += 1
                _mirror(dialog, at, outbox, report)
    report.handler_s = time.perf_counter() - started
    return report


def _mirror(dialog: Dialog, at_ms: int, outbox: Outbox, report: MirrorReport) -> None:
    seen = max(int(dialog.mailed_seq or 0), int(dialog.visitor_read_seq or 0))
    answers = [m for m in message_store.messages_after(dialog.dialog_id, seen, ANSWERS_PER_EMAIL) if is_answer(m)]
    visitor = visitor_store.get_visitor(dialog.visitor_id) if answers else None
    if visitor is None or not visitor.email or visitor.mail_opt_out or not settings.mail_enabled:
        if dialog_mail_store.clear_mail_due(dialog):
            report.read_in_widget += 1
        return
    seqs = [int(m.seq) for m in answers]
    if not dialog_mail_store.claim_mail(dialog, seqs):
        return  # another run has it, or a newer answer moved it later: sent together then
    from chalicelib.mail import compose

    site = _site(dialog.site_id, report)
    message = compose.build(_mirror_of(dialog, site, visitor, answers)) if site else None
    ses_id = outbound.send_raw(message, visitor.email) if message is not None else None
    if message is None or ses_id is None:
        _failed(dialog, seqs, at_ms, report)
        return
    report.sent += 1
    _sent(dialog, str(message["Subject"]), ses_message_ref(ses_id), at_ms, outbox)


def _site(site_id: str, report: MirrorReport) -> Site | None:
    if site_id not in report.sites:
        report.sites[site_id] = site_store.get_site(site_id)
    return report.sites[site_id]


def _mirror_of(dialog: Dialog, site: Site, visitor: Visitor, answers: list[Message]) -> compose.Mirror:
    from chalicelib.mail import compose

    site_settings = siteconfig.settings_of(site)
    key = site_key(site.site_id)
    return compose.Mirror(
        site_name=site.name, accent=site_settings.accent_color,
        language=compose.language_of(visitor.language, site_settings.language),
        from_address=settings.mail_from, to=visitor.email or "",
        reply_to=tokens.reply_address(key, dialog.dialog_id, settings.inbound_domain),
        chat_link=chat_link(site, visitor), unsubscribe_link=unsubscribe_link(site.site_id, visitor.visitor_id),
        rate_link=f"{settings.public_url}/api/rate?t={quote(tokens.rate_token(key, dialog.dialog_id))}",
        answers=tuple(compose.Answer(m.author.name or "Operator", m.text, m.file.name if m.file else None)
                      for m in answers),
        subject=dialog.mail_subject, in_reply_to=dialog.mail_last_ref,
        references=(dialog.mail_root_ref,) if dialog.mail_root_ref else (),
    )


def _sent(dialog: Dialog, subject: str, ref: str, at_ms: int, outbox: Outbox) -> None:
    """The thread continues from this email; replies quoting it find the dialog."""
    for key in tokens.message_ref_keys(ref):
        mail_item_store.put_mail_item(MailItem(key, site_id=dialog.site_id, dialog_id=dialog.dialog_id, at=at_ms))
    updated = dialog_mail_store.mail_sent(dialog.dialog_id, ref, subject)
    if updated is not None:
        outbox.add(audience.operators(dialog.site_id),
                   {"type": "dialog", "dialog": rules.dialog_summary(updated)})


def _failed(dialog: Dialog, seqs: list[int], at_ms: int, report: MirrorReport) -> None:
    """Sending failed: the answers are due again later, a few times, then given up (logged)."""
    report.failed += 1
    failures = int(dialog.mail_failures or 0) + 1
    retry = failures < MAX_FAILURES
    if not retry:
        logger.warning("answers not emailed: giving up", extra={"dialog_id": dialog.dialog_id})
    dialog_mail_store.mail_failed(dialog, seqs, shard_of(dialog.dialog_id) if retry else "", at_ms + RETRY_MS, failures)
