"""Raw MIME bytes of an inbound email -> the fields Parley needs to post it into a dialog.

Pure and standard library only. Everything in an email is untrusted: sizes are capped, control
characters dropped, and bad input (broken MIME, unknown charsets, bad base64, garbage bytes)
degrades to empty or partial fields; ``parse`` never raises.

The work is done by one module per concern: ``headers`` (header fields), ``body`` (the MIME
tree and which parts are the text), ``attachments``, ``charsets``, ``html_text`` (HTML to
text), ``text`` (control characters) and ``quotes`` (the reply without the quoted history).
"""
from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import Message

from chalicelib.mail.attachments import Attachment, attachments_of
from chalicelib.mail.body import MAX_PARTS, Body, unflow
from chalicelib.mail.charsets import decode_bytes
from chalicelib.mail.headers import (
    MAX_IDS,
    MAX_NAME,
    Headers,
    addresses,
    auto_reply,
    date_ms,
    decode_words,
    first_address,
    message_ids,
)
from chalicelib.mail.html_text import MAX_DEPTH, MAX_HTML, html_texts, html_to_text
from chalicelib.mail.quotes import strip_reply
from chalicelib.mail.text import clean_text, oneline

# what this module offered before the split, so that its importers need not change
__all__ = ["MAX_DEPTH", "MAX_HTML", "MAX_IDS", "MAX_NAME", "MAX_PARTS", "MAX_SUBJECT", "MAX_TEXT", "EMPTY",
           "Attachment", "ParsedMail", "decode_bytes", "decode_words", "html_texts", "html_to_text", "parse",
           "unflow"]

MAX_TEXT = 100_000
MAX_SUBJECT = 300


@dataclass(frozen=True)
class ParsedMail:
    """One inbound mail. Message ids have no angle brackets, addresses are lower-cased addr-specs
    ("" when unusable); ``text`` is the whole body as plain text (HTML converted when there is
    no text part) and ``reply`` only what the sender wrote, without quotes and signature."""
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str
    recipients: tuple[str, ...]
    subject: str
    date_ms: int | None
    text: str
    reply: str
    html_only: bool
    auto_reply: bool
    attachments: tuple[Attachment, ...]


EMPTY = ParsedMail(None, (), (), "", "", (), "", None, "", "", False, False, ())


def parse(raw: bytes) -> ParsedMail:
    """The parsed fields of one raw email; never raises (unusable input gives empty fields)."""
    try:
        msg = email.message_from_bytes(bytes(raw), policy=email.policy.compat32)
        return _parse(msg)
    except Exception:  # the email package or a pathological input (e.g. deep nesting) gave up
        return EMPTY


def _parse(msg: Message) -> ParsedMail:
    headers = Headers(msg)
    from_name, from_address = first_address(headers.raw("from"))
    body = Body(msg)
    text = clean_text(body.text).strip()[:MAX_TEXT]
    reply = strip_reply(clean_text(body.reply_source)[:MAX_TEXT])
    if not reply and body.reply_source != body.text:
        reply = strip_reply(text)
    return ParsedMail(
        message_id=next(iter(message_ids(headers.raw("message-id"))), None),
        in_reply_to=message_ids(headers.raw("in-reply-to")),
        references=message_ids(headers.raw("references")),
        from_address=from_address,
        from_name=from_name,
        recipients=addresses(headers.raw("to") + ", " + headers.raw("cc")),
        subject=oneline(headers.decoded("subject"))[:MAX_SUBJECT],
        date_ms=date_ms(headers.raw("date")),
        text=text,
        reply=reply,
        html_only=body.html_only,
        auto_reply=auto_reply(msg, headers, from_address),
        attachments=attachments_of(msg, body.part_ids, body.html),
    )
