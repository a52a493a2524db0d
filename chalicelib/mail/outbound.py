"""Outbound mail through SESv2: follow-up emails (plain text) and the dialog mirror (raw MIME)."""
from __future__ import annotations

import threading
from email.message import EmailMessage
from email.utils import formataddr
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from chalicelib.shared.config import settings

logger = Logger(service="parley", child=True)
_client: Any = None
_lock = threading.Lock()


def _ses() -> Any:
    global _client
    with _lock:
        if _client is None:
            _client = boto3.client("sesv2", region_name=settings.region, endpoint_url=settings.aws_endpoint)
        return _client


def configured() -> bool:
    return bool(settings.mail_from)


def send_text(to: str, subject: str, text: str, sender_name: str) -> bool:
    """Sends a plain-text email from the configured address; False when none is configured
    or SES refuses (logged, never raised: a follow-up is not worth failing a run for)."""
    if not settings.mail_from or not to:
        logger.info("no PARLEY_MAIL_FROM: follow-up email not sent")
        return False
    try:
        _ses().send_email(
            FromEmailAddress=formataddr((sender_name, settings.mail_from)),
            Destination={"ToAddresses": [to]},
            Content={"Simple": {"Subject": {"Data": subject[:200], "Charset": "UTF-8"},
                                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}}},
        )
        return True
    except Exception:  # SES refused (unverified sender, suppression list, throttling)
        logger.exception("follow-up email failed")
        return False


def send_raw(message: EmailMessage, to: str) -> str | None:
    """Sends a composed email from the configured address; SES's message id (SES makes the
    Message-ID header `<id@...amazonses.com>` from it), or None when it could not be sent."""
    if not settings.mail_from or not to:
        logger.info("no PARLEY_MAIL_FROM: email not sent")
        return None
    try:
        answer = _ses().send_email(FromEmailAddress=settings.mail_from, Destination={"ToAddresses": [to]},
                                   Content={"Raw": {"Data": message.as_bytes()}})
        return str(answer["MessageId"])
    except Exception:  # SES refused (unverified sender, suppression list, throttling)
        logger.exception("email failed")
        return None
