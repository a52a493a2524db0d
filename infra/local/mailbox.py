"""The visitor's mailbox, locally: every email Parley sent through SES (moto), and a way to
answer it the way a mail client would, over real SMTP to the local inlet (:mod:`.mail_inlet`).

- ``GET /``: the mails, newest first, as a page (server-rendered; no script at all, and a CSP
  that allows none: every mail is untrusted, its HTML part shown in a sandboxed ``srcdoc`` frame)
- ``GET /messages``: the same as JSON
- ``POST /reply`` (id, body, optional to, subject, file) and ``POST /send`` (from, to, subject,
  body, file): compose and send over SMTP, then 303 back to ``/``, or JSON for
  ``Accept: application/json``

The mails come from moto's SES backend (``GET /_parley/ses/sent`` of ``infra.local.moto_app``).
Each is shown as SES delivers it: Message-ID ``<{SES message id}@email.amazonses.com>`` whatever
the sender put there, and a Date if it had none.
"""
from __future__ import annotations

import base64
import html
import json
import mimetypes
import re
import smtplib
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr, formatdate, getaddresses, make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

SES_MESSAGE_ID_DOMAIN = "email.amazonses.com"  # us-east-1
MAX_FORM_BYTES = 12 * 1024 * 1024
DEFAULT_VISITOR = "visitor@example.com"
# Headers unfolded up to RFC 5322's 998: with the default 78, a Message-ID longer than a line
# (SES's are) would come out as RFC 2047 encoded words, which no mail client sends.
MAIL_POLICY = policy.SMTP.clone(max_line_length=998)
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; "
       "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'")

SentSource = Callable[[], list[dict[str, Any]]]
Form = dict[str, str]


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Mail:
    id: str
    sender: str
    to: str
    reply_to: str
    subject: str
    date: str
    message_id: str
    text: str
    html: str
    list_unsubscribe: str
    references: str
    headers: list[dict[str, str]]
    raw_size: int

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "from": self.sender, "to": self.to, "reply_to": self.reply_to,
                "subject": self.subject, "date": self.date, "message_id": self.message_id,
                "text": self.text, "html": self.html, "list_unsubscribe": self.list_unsubscribe,
                "headers": self.headers, "raw_size": self.raw_size}


# --- reading what SES sent ----------------------------------------------------------------

def moto_sent_mail(moto_url: str, timeout: float = 10.0) -> SentSource:
    """Reads the sent mail from our moto wrapper's ``/_parley/ses/sent``."""
    def fetch() -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{moto_url}/_parley/ses/sent", timeout=timeout) as response:
            return list(json.loads(response.read())["messages"])

    return fetch


def _simple_message(item: dict[str, Any]) -> EmailMessage:
    """What SES builds from a Simple send (moto keeps only subject, body and addresses)."""
    message = EmailMessage()
    destinations = item.get("destinations") or {}
    message["From"] = item.get("source") or ""
    for header, key in (("To", "ToAddresses"), ("Cc", "CcAddresses")):
        if destinations.get(key):
            message[header] = ", ".join(destinations[key])
    message["Subject"] = item.get("subject") or ""
    message.set_content(item.get("body") or "")
    return message


def _as_delivered(item: dict[str, Any], first_seen: float) -> tuple[EmailMessage, int]:
    if item.get("kind") == "raw":
        raw = base64.b64decode(item["raw"])
        message = BytesParser(policy=policy.default).parsebytes(raw)
        size = len(raw)
    else:
        message = _simple_message(item)
        size = len(message.as_bytes())
    del message["Message-ID"]  # SES replaces it with its own
    message["Message-ID"] = f"<{item['id']}@{SES_MESSAGE_ID_DOMAIN}>"
    if message["Date"] is None:
        message["Date"] = formatdate(first_seen, localtime=False, usegmt=True)
    return message, size  # type: ignore[return-value]


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    try:
        return str(part.get_content()).replace("\r\n", "\n")
    except (LookupError, ValueError):  # an unknown charset or a broken transfer encoding
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace").replace("\r\n", "\n") if isinstance(payload, bytes) else ""


def _header(message: EmailMessage, name: str) -> str:
    value = message.get(name)
    return "" if value is None else str(value)


def parse_sent(item: dict[str, Any], first_seen: float | None = None) -> Mail:
    """One entry of ``/_parley/ses/sent`` as the visitor's mailbox shows it."""
    message, size = _as_delivered(item, time.time() if first_seen is None else first_seen)
    return Mail(
        id=item["id"], sender=_header(message, "From"), to=_header(message, "To"),
        reply_to=_header(message, "Reply-To"), subject=_header(message, "Subject"),
        date=_header(message, "Date"), message_id=_header(message, "Message-ID"),
        text=_part(message, "plain"), html=_part(message, "html"),
        list_unsubscribe=_header(message, "List-Unsubscribe"), references=_header(message, "References"),
        headers=[{"name": name, "value": str(value)} for name, value in message.items()],
        raw_size=size,
    )


class SentMail:
    """The mails, parsed once each (they never change), newest first."""

    def __init__(self, source: SentSource) -> None:
        self._source = source
        self._parsed: dict[str, Mail] = {}
        self._lock = threading.Lock()

    def all(self) -> list[Mail]:
        items = self._source()
        with self._lock:
            for item in items:
                if item["id"] not in self._parsed:
                    self._parsed[item["id"]] = parse_sent(item)
            return [self._parsed[item["id"]] for item in reversed(items)]

    def get(self, mail_id: str) -> Mail | None:
        return next((mail for mail in self.all() if mail.id == mail_id), None)


# --- composing, as a mail client does ----------------------------------------------------

def _first_address(header: str) -> tuple[str, str]:
    found = [pair for pair in getaddresses([header]) if pair[1]]
    return found[0] if found else ("", "")


def _html_as_text(markup: str) -> str:
    without_blocks = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", markup)
    return html.unescape(re.sub(r"(?s)<[^>]*>", "", re.sub(r"(?i)<br\s*/?>|</p>", "\n", without_blocks))).strip()


def quoted(original: Mail) -> str:
    """The original's text under "On <date>, <from> wrote:", each line prefixed with "> "."""
    text = original.text or _html_as_text(original.html)
    lines = [f"> {line}" if line else ">" for line in text.rstrip("\n").splitlines()]
    return "\n".join([f"On {original.date}, {original.sender} wrote:", *lines])


def reply_subject(subject: str) -> str:
    return subject if re.match(r"(?i)re\s*:", subject) else f"Re: {subject}"


def _attach(message: EmailMessage, attachment: Attachment | None) -> None:
    if attachment is not None and attachment.filename:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype or "application",
                               subtype=subtype or "octet-stream", filename=attachment.filename)


def new_message(sender: str, to: str, subject: str, body: str,
                attachment: Attachment | None = None) -> EmailMessage:
    message = EmailMessage(policy=MAIL_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(body)
    _attach(message, attachment)
    return message


def compose_reply(original: Mail, body: str, attachment: Attachment | None = None,
                  to: str | None = None, subject: str | None = None) -> EmailMessage:
    """From the visitor (the original's To) to its Reply-To, threaded on its Message-ID."""
    sender = formataddr(_first_address(original.to))
    text = f"{body.rstrip()}\n\n{quoted(original)}\n"
    message = new_message(sender, to or original.reply_to or original.sender,
                          subject or reply_subject(original.subject), text, attachment)
    message["In-Reply-To"] = original.message_id
    message["References"] = " ".join(part for part in (original.references, original.message_id) if part)
    return message


def send_smtp(host: str, port: int, message: EmailMessage) -> None:
    """Hands the message to the inlet; smtplib raises on any refusal."""
    with smtplib.SMTP(host, port, timeout=30) as client:
        client.send_message(message)


# --- forms (no python-multipart in the stack: the email parser reads multipart/form-data) ----

def _multipart_form(content_type: str, body: bytes) -> tuple[dict[str, str], Attachment | None]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = BytesParser(EmailMessage, policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    attachment = None
    for part in parsed.iter_parts() if parsed.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)  # bytes, or None for a nested multipart
        data = payload if isinstance(payload, bytes) else b""
        if filename:
            guessed = mimetypes.guess_type(filename)[0] or "application/octet-stream"
            attachment = Attachment(filename, part.get_content_type() if part["content-type"] else guessed, data)
        elif isinstance(name, str):
            fields[name] = data.decode(part.get_content_charset() or "utf-8", "replace").replace("\r\n", "\n")
    return fields, attachment


async def read_form(request: Request) -> tuple[dict[str, str], Attachment | None]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ValueError("the form is too large")
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return _multipart_form(content_type, body)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0].replace("\r\n", "\n") for name, values in fields.items()}, None


# --- the page ---------------------------------------------------------------------------

def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _field(label: str, name: str, value: str, testid: str, readonly: bool = False) -> str:
    extra = " readonly" if readonly else ""
    return (f'<label>{_e(label)} <input name="{name}" value="{_e(value)}" '
            f'data-testid="{testid}"{extra}></label>')


def _reply_form(mail: Mail) -> str:
    return (
        '<details class="compose"><summary data-testid="mail-reply" role="button">Reply</summary>'
        '<form method="post" action="/reply" enctype="multipart/form-data" data-testid="reply-form">'
        f'<input type="hidden" name="id" value="{_e(mail.id)}">'
        + _field("To", "to", mail.reply_to or mail.sender, "reply-to")
        + _field("Subject", "subject", reply_subject(mail.subject), "reply-subject")
        + '<textarea name="body" rows="6" required data-testid="reply-body"></textarea>'
        '<input type="file" name="file" data-testid="reply-file">'
        f'<pre class="quote" data-testid="reply-quote">{_e(quoted(mail))}</pre>'
        '<button type="submit" data-testid="reply-send">Send</button></form></details>'
    )


def _mail_item(mail: Mail) -> str:
    rows = "".join(
        f'<tr><th>{label}</th><td data-testid="{testid}">{_e(value)}</td></tr>'
        for label, value, testid in (("From", mail.sender, "mail-from"), ("To", mail.to, "mail-to"),
                                     ("Reply-To", mail.reply_to, "mail-reply-to"), ("Date", mail.date, "mail-date"))
        if value)
    frame = (f'<iframe sandbox title="HTML part" data-testid="mail-html" srcdoc="{_e(mail.html)}"></iframe>'
             if mail.html else "")
    unsubscribe = (f'<p class="meta">List-Unsubscribe: <span data-testid="mail-unsubscribe">{_e(mail.list_unsubscribe)}'
                   '</span></p>' if mail.list_unsubscribe else "")
    return (
        f'<article class="mail" data-testid="mail-item" data-mail-id="{_e(mail.id)}">'
        f'<h2 data-testid="mail-subject">{_e(mail.subject or "(no subject)")}</h2><table>{rows}</table>'
        f'{unsubscribe}<pre data-testid="mail-text">{_e(mail.text)}</pre>{frame}{_reply_form(mail)}</article>'
    )


def _new_email_form(domain: str) -> str:
    return (
        '<details class="compose"><summary data-testid="new-email" role="button">New email</summary>'
        '<form method="post" action="/send" enctype="multipart/form-data" data-testid="new-form">'
        + _field("From", "from", DEFAULT_VISITOR, "new-from")
        + _field("To", "to", f"support@{domain}", "new-to")
        + _field("Subject", "subject", "", "new-subject")
        + '<textarea name="body" rows="6" required data-testid="new-body"></textarea>'
        '<input type="file" name="file" data-testid="new-file">'
        '<button type="submit" data-testid="new-send">Send</button></form></details>'
    )


STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:0 auto;max-width:56rem;padding:1rem;color:#222}
.mail{border:1px solid #ccc;border-radius:6px;padding:.75rem 1rem;margin:1rem 0}
.mail h2{font-size:1.1rem;margin:.2rem 0 .5rem}
th{text-align:left;color:#666;font-weight:normal;padding-right:1rem;vertical-align:top}
pre{white-space:pre-wrap;word-break:break-word;font:inherit;background:#f7f7f7;padding:.5rem}
iframe{width:100%;height:18rem;border:1px solid #ddd}
.compose form{display:grid;gap:.4rem;margin:.5rem 0}
.compose input:not([type]),textarea{width:100%;box-sizing:border-box}
.compose button{justify-self:start;padding:.3rem 1rem}
summary{cursor:pointer;display:inline-block;padding:.3rem .8rem;border:1px solid #888;border-radius:4px}
.quote{color:#666}.note{padding:.5rem;background:#e8f5e9}.error{padding:.5rem;background:#fdecea}
.meta{color:#666;font-size:.85rem}
"""


def render_page(mails: list[Mail], domain: str, sent: str = "", error: str = "") -> str:
    notice = (f'<p class="note" role="status" data-testid="sent-confirmation">Sent to {_e(sent)}.</p>'
              if sent else "")
    if error:
        notice += f'<p class="error" role="alert" data-testid="send-error">Not sent: {_e(error)}</p>'
    items = "".join(_mail_item(mail) for mail in mails) or '<p data-testid="mail-empty">No email yet.</p>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>Local mailbox</title><style>{STYLE}</style></head><body>'
        f'<h1>Local mailbox</h1><p class="meta">Every email Parley sent through SES (moto). Mail to '
        f'<code>@{_e(domain)}</code> goes to the local SMTP inlet. <a href="/" data-testid="refresh">Refresh</a></p>'
        f'{notice}{_new_email_form(domain)}<section data-testid="mail-list">{items}</section></body></html>'
    )


# --- the app ---------------------------------------------------------------------------

def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _same_origin(request: Request) -> bool:
    """A page elsewhere must not make the visitor's mailbox send mail."""
    origin = request.headers.get("origin")
    return origin in (None, "null") or urlsplit(origin).netloc == request.headers.get("host")


def _outcome(request: Request, status: int, result: dict[str, Any]) -> Response:
    if _wants_json(request):
        return JSONResponse(result, status_code=status)
    query = {"sent": result["to"]} if result.get("sent") else {"error": result.get("error", "")}
    return RedirectResponse("/?" + urlencode(query, quote_via=quote), status_code=303)


def create_mailbox_app(sent_source: SentSource, smtp_host: str, smtp_port: int, domain: str,
                       sender: Callable[[str, int, EmailMessage], None] = send_smtp) -> Starlette:
    """The mailbox, reading sent mail from ``sent_source`` and sending to the inlet at host:port."""
    mail = SentMail(sent_source)

    async def page(request: Request) -> Response:
        mails = await run_in_threadpool(mail.all)
        body = render_page(mails, domain, request.query_params.get("sent", ""), request.query_params.get("error", ""))
        return HTMLResponse(body, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                           "Cache-Control": "no-store"})

    async def messages(request: Request) -> Response:
        mails = await run_in_threadpool(mail.all)
        return JSONResponse({"messages": [item.as_json() for item in mails]})

    async def deliver(request: Request, message: EmailMessage) -> Response:
        result = {"from": str(message["From"]), "to": str(message["To"]), "subject": str(message["Subject"]),
                  "message_id": str(message["Message-ID"]), "in_reply_to": str(message["In-Reply-To"] or "")}
        try:
            await run_in_threadpool(sender, smtp_host, smtp_port, message)
        except (smtplib.SMTPException, OSError) as exc:
            return _outcome(request, 502, result | {"sent": False, "error": str(exc)})
        return _outcome(request, 200, result | {"sent": True})

    async def form_or_refusal(request: Request) -> tuple[Form | None, Attachment | None, Response | None]:
        if not _same_origin(request):
            return None, None, JSONResponse({"sent": False, "error": "cross-origin form"}, status_code=403)
        try:
            fields, attachment = await read_form(request)
        except ValueError as exc:
            return None, None, _outcome(request, 413, {"sent": False, "error": str(exc)})
        return fields, attachment, None

    async def reply(request: Request) -> Response:
        fields, attachment, refusal = await form_or_refusal(request)
        if refusal is not None or fields is None:
            return refusal or Response(status_code=400)
        original = await run_in_threadpool(mail.get, fields.get("id", ""))
        if original is None:
            return _outcome(request, 404, {"sent": False, "error": "no such email"})
        message = compose_reply(original, fields.get("body", ""), attachment,
                                fields.get("to") or None, fields.get("subject") or None)
        return await deliver(request, message)

    async def send(request: Request) -> Response:
        fields, attachment, refusal = await form_or_refusal(request)
        if refusal is not None or fields is None:
            return refusal or Response(status_code=400)
        message = new_message(fields.get("from") or DEFAULT_VISITOR, fields.get("to") or f"support@{domain}",
                              fields.get("subject", ""), fields.get("body", ""), attachment)
        return await deliver(request, message)

    return Starlette(routes=[
        Route("/", page, methods=["GET"]),
        Route("/messages", messages, methods=["GET"]),
        Route("/reply", reply, methods=["POST"]),
        Route("/send", send, methods=["POST"]),
    ])
