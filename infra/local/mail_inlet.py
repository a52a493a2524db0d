"""The local stand-in for SES email receiving: an SMTP server (aiosmtpd) for the inbound domain.

For each mail it does what Parley's receipt rule does on AWS: the S3 action stores the raw
MIME in the data bucket under ``inbound/<SES message id>``, then the Lambda action invokes
``app.inbound_mail`` with SES's event (:func:`ses_event`), asynchronously ("Event"): the
sender has its 250 before the handler runs, and a failing handler is only logged.
"""
from __future__ import annotations

import asyncio
import logging
import re
import secrets
import socket
import string
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from email.utils import formataddr, getaddresses
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

log = logging.getLogger("parley.local.mail")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # SES's limit for received mail
INBOUND_PREFIX = "inbound/"
FUNCTION_NAME = "parley-local-inbound_mail"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}"
SMTP_HOSTNAME = "inbound-smtp.local"
_ID_ALPHABET = string.ascii_lowercase + string.digits
_VERDICTS = ("spamVerdict", "virusVerdict", "spfVerdict", "dkimVerdict", "dmarcVerdict")

LambdaHandler = Callable[[dict[str, Any], Any], Any]
ContextFactory = Callable[[], Any]


def new_message_id() -> str:
    """An id shaped like SES's for received mail: lower-case letters and digits."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(32))


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(_unfold(value))))
    except (ValueError, LookupError):  # a malformed encoded word: keep the raw text
        return _unfold(value)


def _addresses(message: Message, name: str) -> list[str]:
    values = [_unfold(v) for v in message.get_all(name, [])]
    return [formataddr((_decoded(display), address)) for display, address in getaddresses(values) if address]


def _common_headers(message: Message, source: str) -> dict[str, Any]:
    common: dict[str, Any] = {"returnPath": source}
    for key, header in (("from", "From"), ("to", "To"), ("cc", "Cc")):
        found = _addresses(message, header)
        if found:
            common[key] = found
    for key, header in (("date", "Date"), ("messageId", "Message-ID"), ("subject", "Subject")):
        if message.get(header) is not None:
            common[key] = _decoded(str(message.get(header)))
    return common


def _received_headers(source: str, recipients: list[str], message_id: str,
                      verdicts: dict[str, str]) -> list[dict[str, str]]:
    """What SES puts in front of the mail's own headers."""
    when = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000 (UTC)")
    first = recipients[0] if recipients else ""
    return [
        {"name": "Return-Path", "value": f"<{source}>"},
        {"name": "Received",
         "value": f"from localhost by {SMTP_HOSTNAME} with SMTP id {message_id} for {first}; {when}"},
        {"name": "X-SES-Spam-Verdict", "value": verdicts["spamVerdict"]},
        {"name": "X-SES-Virus-Verdict", "value": verdicts["virusVerdict"]},
    ]


def ses_event(message_id: str, recipients: list[str], source: str, raw: bytes,
              verdicts: dict[str, str] | None = None) -> dict[str, Any]:
    """The event SES's receipt-rule Lambda action sends for one mail (no body: that is in S3).

    ``verdicts`` maps spamVerdict, virusVerdict, spfVerdict, dkimVerdict, dmarcVerdict to
    PASS, FAIL, GRAY or PROCESSING_FAILED; missing ones are PASS.
    """
    status = {name: "PASS" for name in _VERDICTS} | {k: v.upper() for k, v in (verdicts or {}).items()}
    message = BytesParser(policy=compat32).parsebytes(raw, headersonly=True)
    timestamp = _iso_now()
    headers = [{"name": name, "value": _unfold(str(value))} for name, value in message.items()]
    destination = [address for _, address in getaddresses(
        [_unfold(v) for name in ("To", "Cc") for v in message.get_all(name, [])]) if address]
    receipt: dict[str, Any] = {
        "timestamp": timestamp, "processingTimeMillis": 1, "recipients": list(recipients),
        **{name: {"status": status[name]} for name in _VERDICTS},
        "action": {"type": "Lambda", "functionArn": FUNCTION_ARN, "invocationType": "Event"},
    }
    if status["dmarcVerdict"] == "FAIL":
        receipt["dmarcPolicy"] = "none"  # SES adds it only when DMARC failed
    mail = {
        "timestamp": timestamp, "source": source, "messageId": message_id,
        "destination": destination or list(recipients), "headersTruncated": False,
        "headers": _received_headers(source, list(recipients), message_id, status) + headers,
        "commonHeaders": _common_headers(message, source),
    }
    return {"Records": [{"eventSource": "aws:ses", "eventVersion": "1.0", "ses": {"mail": mail, "receipt": receipt}}]}


def _s3_client(region: str, endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}) if endpoint else None
    return boto3.client("s3", region_name=region, endpoint_url=endpoint, config=config)


def lambda_context() -> Any:
    from chalice.local import LambdaContext

    return LambdaContext(FUNCTION_NAME, 256, max_runtime_ms=60_000)


class MailInlet:
    """aiosmtpd handler and server: accepts mail for ``@domain``, stores it, invokes ``handler``."""

    def __init__(self, domain: str, handler: LambdaHandler, *, bucket: str | None = None,
                 region: str | None = None, endpoint: str | None = None,
                 max_bytes: int = MAX_MESSAGE_BYTES, context_factory: ContextFactory = lambda_context) -> None:
        from chalicelib.shared.config import settings

        self.domain = domain.lower()
        self.bucket = bucket or settings.data_bucket
        self.max_bytes = max_bytes
        self._handler = handler
        self._context_factory = context_factory
        self._s3 = _s3_client(region or settings.region, endpoint if endpoint is not None else settings.aws_endpoint)
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="parley-mail")
        self._server: asyncio.AbstractServer | None = None

    # --- aiosmtpd hooks ------------------------------------------------------------------
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.rpartition("@")[2].lower() != self.domain:
            return "550 5.7.1 Relaying denied: this server only accepts mail for @" + self.domain
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or b"")
        message_id = new_message_id()
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self.store, message_id, raw)
        except Exception:
            log.exception("could not store inbound mail %s", message_id)
            return "451 4.3.0 Temporary failure storing the message, try again later"
        event = ses_event(message_id, list(envelope.rcpt_tos), envelope.mail_from or "", raw)
        loop.call_soon(self._executor.submit, self.invoke, event)  # after the 250 is queued
        log.info("inbound mail %s from %s for %s", message_id, envelope.mail_from, envelope.rcpt_tos)
        return f"250 Ok: queued as {message_id}"

    # --- the receipt rule's two actions ---------------------------------------------------
    def store(self, message_id: str, raw: bytes) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=INBOUND_PREFIX + message_id, Body=raw)

    def invoke(self, event: dict[str, Any]) -> Any:
        """One asynchronous Lambda invocation: a failure is logged, as Lambda would."""
        try:
            return self._handler(event, self._context_factory())
        except Exception:
            log.exception("inbound_mail failed for %s", event["Records"][0]["ses"]["mail"]["messageId"])
            return None

    # --- serving -----------------------------------------------------------------------
    def protocol(self) -> SMTP:
        return SMTP(self, data_size_limit=self.max_bytes, enable_SMTPUTF8=True, hostname=SMTP_HOSTNAME,
                    ident="Parley local inlet", timeout=120, loop=asyncio.get_running_loop())

    async def start(self, sock: socket.socket) -> asyncio.AbstractServer:
        """Serves SMTP on a bound socket in the running loop."""
        self._server = await asyncio.get_running_loop().create_server(self.protocol, sock=sock)
        return self._server

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self._executor.shutdown(wait=False, cancel_futures=False)
