"""Inbound mail: a reply from the visitor's mailbox becomes a chat message in its dialog.

SES's receipt rule stores the raw MIME under ``inbound/<message id>`` in the data bucket, then
invokes this function with its verdicts (the Lambda action runs after the S3 action). Per mail:
1. SES's verdicts: spam or virus FAIL, or SPF and DKIM both FAIL: not posted (the raw mail
   stays in the bucket for review until it expires).
2. The dialog: by the signed `reply+<token>` recipient; else by In-Reply-To/References to an
   email of a thread (the sender must be the dialog's visitor); else a plain address of a
   site (support@...) starts a conversation, or continues the sender's open one. A forged or
   unknown token is refused and logged; the sender gets nothing either way.
3. What the visitor wrote (quotes and signature stripped), with the full email kept for
   operators, and attachments up to 2 MB as chat files; larger ones are named, not dropped.
Delivered twice, a mail is posted once: messages are keyed by the SES message id (a
conditional put), and an "in#" item remembers where it went.
"""
from __future__ import annotations

import json
import mimetypes
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from chalicelib import protocol
from chalicelib.dialogs import files, posting, rules
from chalicelib.mail import mirror, tokens
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.shared.clock import new_id, now_ms, now_s
from chalicelib.shared.config import settings
from chalicelib.storage import blobs, dialog_mail_store, dialog_store, mail_item_store, message_store, visitor_store
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.mail_item_store import MailItem
from chalicelib.storage.message_store import FileAttribute
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import cards

if TYPE_CHECKING:  # the parser loads when a mail comes: not at every function's cold start
    from chalicelib.mail import parse as mime

logger = Logger(service="parley", child=True)
INBOUND_PREFIX = "inbound/"
MAX_RAW_BYTES = 40 * 1024 * 1024  # SES's own limit for received mail
MAX_ORIGINAL_BYTES = 100_000  # the full email kept on the message (DynamoDB items are <= 400 KB)
MAX_FILES = 10
LOGO_BYTES = 32 * 1024  # a smaller image the HTML shows inline is a signature logo: skipped
MAX_REFS = 8
MARKER_DAYS = 30
OUTCOMES = ("posted", "duplicate", "refused", "rejected", "dropped", "missing")


@dataclass(frozen=True)
class Receipt:
    message_id: str
    spam: str
    virus: str
    spf: str
    dkim: str
    recipients: tuple[str, ...] = ()

    @property
    def object_key(self) -> str:
        return INBOUND_PREFIX + self.message_id

    def refusal(self) -> str | None:
        """Why this mail must not be posted, or None when SES's verdicts allow it."""
        if self.spam == "FAIL" or self.virus == "FAIL":
            return "spam or virus"
        if self.spf == "FAIL" and self.dkim == "FAIL":
            return "neither SPF nor DKIM passed"
        return None


def _verdict(receipt: dict[str, Any], name: str) -> str:
    value = receipt.get(name)
    return str(value.get("status", "GRAY")).upper() if isinstance(value, dict) else "GRAY"


def receipts(event: dict[str, Any]) -> list[Receipt]:
    """The mails of one SES Lambda-action event (malformed records are skipped and logged)."""
    found = []
    for record in event.get("Records") or []:
        ses = record.get("ses") if isinstance(record, dict) else None
        mail = ses.get("mail") if isinstance(ses, dict) else None
        receipt = ses.get("receipt") if isinstance(ses, dict) else None
        message_id = mail.get("messageId") if isinstance(mail, dict) else None
        if not isinstance(message_id, str) or not protocol.is_id(message_id) or not isinstance(receipt, dict):
            logger.warning("SES record without a message id or receipt skipped")
            continue
        recipients = receipt.get("recipients")
        found.append(Receipt(message_id, _verdict(receipt, "spamVerdict"), _verdict(receipt, "virusVerdict"),
                             _verdict(receipt, "spfVerdict"), _verdict(receipt, "dkimVerdict"),
                             tuple(r.lower() for r in recipients if isinstance(r, str))
                             if isinstance(recipients, list) else ()))
    return found


def handle(event: dict[str, Any], endpoint: str | None = None) -> dict[str, int]:
    """Posts the mails of an SES event; counts each outcome."""
    counts = Counter({outcome: 0 for outcome in OUTCOMES})
    for receipt in receipts(event):
        counts[process(receipt, endpoint)] += 1
    return dict(counts)


def process(receipt: Receipt, endpoint: str | None = None) -> str:
    """One mail, start to end; the outcome's name."""
    reason = receipt.refusal()
    if reason:
        logger.info("inbound mail refused", extra={"key": receipt.object_key, "reason": reason})
        return "refused"
    if mail_item_store.get_mail_item(f"in#{receipt.message_id}") is not None:
        return "duplicate"
    raw = blobs.read(receipt.object_key, MAX_RAW_BYTES)
    if raw is None:
        logger.error("inbound mail missing from the bucket", extra={"key": receipt.object_key})
        return "missing"
    from chalicelib.mail import parse as mime

    return post(receipt, mime.parse(raw), endpoint)


def post(receipt: Receipt, mail: mime.ParsedMail, endpoint: str | None = None) -> str:
    """Posts a parsed mail into its dialog (see the module's docstring)."""
    if mail.auto_reply:
        logger.info("automatic reply dropped", extra={"key": receipt.object_key})
        return "dropped"
    target = find_target(mail, receipt.recipients or mail.recipients)
    if isinstance(target, str):
        logger.warning("inbound mail rejected", extra={"key": receipt.object_key, "reason": target,
                                                       "sender": mail.from_address})
        return "rejected"
    dialog = _open_dialog(target, mail)
    with audience.sending(endpoint) as outbox:
        posted = _post_messages(dialog, mail, receipt.message_id, outbox)
        if posted is None:
            logger.info("empty email dropped", extra={"key": receipt.object_key})
            return "dropped"
        _remember(receipt.message_id, mail, dialog)
    return "posted" if posted else "duplicate"


# --- which dialog -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    site_id: str
    dialog: Dialog | None = None  # the dialog the mail answers; None: the sender's conversation


def find_target(mail: mime.ParsedMail, recipients: tuple[str, ...]) -> Target | str:
    """Where the mail goes, or why it goes nowhere."""
    if not cards.is_email(mail.from_address):
        return "no valid sender address"
    ours = [r.rpartition("@")[0] for r in recipients if r.rpartition("@")[2] == settings.inbound_domain]
    for local in ours:
        claimed = tokens.reply_dialog(local)
        if claimed is not None:
            return _signed_dialog(*claimed)
    threaded = _threaded_dialog(mail)
    if threaded is not None:
        return Target(threaded.site_id, threaded)
    for local in ours:
        address = mail_item_store.get_mail_item(f"addr#{local}") if local and not local.startswith("reply+") else None
        if address is not None:
            return Target(address.site_id)
    return "no dialog and no site address"


def _signed_dialog(dialog_id: str, signature: str) -> Target | str:
    dialog = dialog_store.get_dialog(dialog_id)
    key = mirror.site_key(dialog.site_id) if dialog else b""
    if dialog is None or not tokens.reply_signed(key, dialog_id, signature):
        return "forged or unknown reply address"
    return Target(dialog.site_id, dialog)


def _threaded_dialog(mail: mime.ParsedMail) -> Dialog | None:
    """The dialog an email of the thread belongs to, when the sender is its visitor."""
    refs = list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))[:MAX_REFS]
    for ref in refs:
        for key in tokens.message_ref_keys(ref):
            item = mail_item_store.get_mail_item(key)
            dialog = dialog_store.get_dialog(item.dialog_id) if item and item.dialog_id else None
            if dialog is not None and (dialog.visitor_email or "").lower() == mail.from_address:
                return dialog
    return None


def _open_dialog(target: Target, mail: mime.ParsedMail) -> Dialog:
    """The open dialog to post in: the one answered, else the visitor's open one, else new
    (an answer to a closed dialog continues in a new one, as in the chat)."""
    if target.dialog is not None and target.dialog.status == "open":
        return target.dialog
    visitor = visitor_store.get_visitor(target.dialog.visitor_id) if target.dialog else _sender(target.site_id, mail)
    if visitor is None:
        raise RuntimeError("the dialog's visitor is gone")
    current = dialog_store.get_dialog(visitor.open_dialog_id) if visitor.open_dialog_id else None
    if current is not None and current.status == "open":
        return current
    return _new_dialog(visitor, mail, target.dialog)


def _sender(site_id: str, mail: mime.ParsedMail) -> Visitor:
    """The site's visitor with the sender's email, or a new one (email is their channel)."""
    found = visitor_store.visitor_by_email(cards.email_key(site_id, mail.from_address))
    visitor = visitor_store.get_visitor(found) if found else None
    if visitor is not None:
        return visitor
    at = now_ms()
    name = " ".join(mail.from_name.split())[: cards.MAX_NAME] or None
    visitor = Visitor(new_id("v"), site_id=site_id, created_at=at, visits=0, version=0, name=name,
                      email=mail.from_address, site_email=cards.email_key(site_id, mail.from_address), last_seen=at)
    visitor_store.create_visitor(visitor)
    return visitor


def _new_dialog(visitor: Visitor, mail: mime.ParsedMail, previous: Dialog | None) -> Dialog:
    at = now_ms()
    dialog = rules.new_dialog(new_id("d"), visitor.site_id, visitor.visitor_id, at)
    dialog.channel = "email"
    dialog.visitor_name = cards.display_name(visitor.visitor_id, visitor.name)
    dialog.visitor_email = visitor.email or mail.from_address
    dialog.visitor_segments = set(visitor.segments) if visitor.segments else None
    dialog.mail_subject = previous.mail_subject if previous and previous.mail_subject else _re(mail.subject)
    dialog.mail_root_ref = (previous.mail_root_ref if previous else None) or mail.message_id
    dialog.visitor_conns = set(audience.visitor_tabs(visitor.visitor_id)) or None
    dialog_store.put_dialog(dialog)
    replacing = previous.dialog_id if previous else visitor.open_dialog_id
    if visitor_store.claim_open_dialog(visitor.visitor_id, dialog.dialog_id, replacing):
        return dialog
    dialog_store.delete_dialog(dialog.dialog_id)  # another mail or tab opened one first: use it
    winner = visitor_store.get_visitor(visitor.visitor_id)
    found = dialog_store.get_dialog(winner.open_dialog_id) if winner and winner.open_dialog_id else None
    if found is None:
        raise RuntimeError("the visitor's open dialog is gone")
    return found


def _re(subject: str) -> str:
    subject = subject or "Your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"[:200]


# --- the messages ----------------------------------------------------------------------------

def _post_messages(dialog: Dialog, mail: mime.ParsedMail, ses_id: str, outbox: Outbox) -> bool | None:
    """The reply's text, then each attachment, as the visitor's messages; True when any was
    new, False when all were posted before (a second delivery), None when there is nothing."""
    kept, left_out = _attachments(mail)
    text = _fit(mail.reply)
    if not text and not kept:
        if not left_out:
            return None
        text = "📎"
    email_fields = {"via": "email", "email_from": mail.from_address, "email_subject": mail.subject[:300] or None,
                    "original": _fit(mail.text, MAX_ORIGINAL_BYTES) or None,
                    "left_out": json.dumps(left_out) if left_out else None}
    posted = []
    if text:
        posted.append(_post(dialog, f"mail-{ses_id}", text, None, email_fields, outbox))
        email_fields = {"via": "email"}
    for index, attachment in enumerate(kept):
        file = _store_file(dialog, ses_id, index, attachment)
        posted.append(_post(dialog, f"mail-{ses_id}-{index}", "", file, email_fields, outbox))
        email_fields = {"via": "email"}
    return any(posted)


def _post(dialog: Dialog, client_id: str, text: str, file: FileAttribute | None, fields: dict[str, Any],
          outbox: Outbox) -> bool:
    """One visitor message, stored once whatever the deliveries, and fanned out. Like a chat
    message it starts the answer-time clock: the customer waits for an answer whichever way
    they wrote (docs/routing.md)."""
    if message_store.get_message(dialog.dialog_id, client_id) is not None:
        return False  # a second delivery of this mail: no seq is spent on it
    draft = posting.Draft(dialog.dialog_id, client_id, rules.visitor_author(), text, file, wait="start",
                          email=fields)
    stored = posting.store(draft, (Dialog.visitor_id == dialog.visitor_id) & (Dialog.status == "open"))
    if stored is None:
        raise RuntimeError("the dialog closed while the mail was posted; SES retries")
    if stored.duplicate or stored.dialog is None:
        return False
    posting.deliver(stored.dialog, stored.message, outbox)
    return True


def _fit(text: str, max_bytes: int = protocol.MAX_TEXT_BYTES) -> str:
    """Text within a byte budget, cut on a character boundary with an ellipsis."""
    text = text.strip()
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max_bytes - 3].decode("utf-8", "ignore").rstrip() + "…"


def _attachments(mail: mime.ParsedMail) -> tuple[list[mime.Attachment], list[dict[str, Any]]]:
    """Attachments that become chat files, and the ones named instead (too big, a type chat
    files cannot have, too many). Small inline images (signature logos) are skipped."""
    kept: list[mime.Attachment] = []
    left_out: list[dict[str, Any]] = []
    for attachment in mail.attachments:
        size = len(attachment.data)
        if attachment.inline_image and size <= LOGO_BYTES:
            continue
        reason = _refusal(attachment, len(kept))
        if reason:
            left_out.append({"name": attachment.name, "size": size, "reason": reason})
        else:
            kept.append(attachment)
    return kept, left_out


def content_type_of(attachment: mime.Attachment) -> str:
    """The declared type, or the one its name implies when the mailer sent a generic one."""
    declared = attachment.content_type.lower()
    if declared in files.CONTENT_TYPES:
        return declared
    guessed = mimetypes.guess_type(attachment.name)[0] or ""
    return guessed if guessed in files.CONTENT_TYPES else declared


def _refusal(attachment: mime.Attachment, kept: int) -> str | None:
    if not attachment.data:
        return "empty"
    if len(attachment.data) > files.MAX_BYTES:
        return "larger than 2 MB"
    if content_type_of(attachment) not in files.CONTENT_TYPES:
        return "this type of file cannot be sent"
    if kept >= MAX_FILES:
        return f"more than {MAX_FILES} files"
    return None


def _store_file(dialog: Dialog, ses_id: str, index: int, attachment: mime.Attachment) -> FileAttribute:
    """The attachment as a chat file of the visitor's (its key fixed by the mail, so a second
    delivery writes the same object)."""
    content_type = content_type_of(attachment)
    key = files.key_for(dialog.site_id, dialog.visitor_id, f"m{ses_id[:40]}{index}")
    blobs.put(key, attachment.data, content_type)
    return FileAttribute(key=key, name=attachment.name[: files.MAX_NAME_CHARS] or "attachment",
                         size=len(attachment.data), content_type=content_type)


def _remember(ses_id: str, mail: mime.ParsedMail, dialog: Dialog) -> None:
    """The mail was posted (a second delivery stops at once); the thread continues from it."""
    at = now_ms()
    mail_item_store.put_mail_item(MailItem(f"in#{ses_id}", site_id=dialog.site_id, dialog_id=dialog.dialog_id, at=at,
                                  expires_at=now_s() + MARKER_DAYS * 86400))
    if mail.message_id:
        for key in tokens.message_ref_keys(mail.message_id):
            mail_item_store.put_mail_item(MailItem(key, site_id=dialog.site_id, dialog_id=dialog.dialog_id, at=at))
        dialog_mail_store.thread_reply(dialog.dialog_id, mail.message_id, mail.from_address)
