"""Inbound mail from the SES receipt rule: SES stores the raw MIME under ``inbound/<message id>``
in the data bucket, then invokes this function with its verdicts.

Turning a reply into a chat message (MIME parsing, dialog lookup by token, quote stripping)
is the email-continuity work; this module decides what SES's verdicts allow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

logger = Logger(service="parley", child=True)
INBOUND_PREFIX = "inbound/"


@dataclass(frozen=True)
class Receipt:
    message_id: str
    spam: str
    virus: str
    spf: str
    dkim: str

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
        if not isinstance(message_id, str) or not isinstance(receipt, dict):
            logger.warning("SES record without a message id or receipt skipped")
            continue
        found.append(Receipt(message_id, _verdict(receipt, "spamVerdict"), _verdict(receipt, "virusVerdict"),
                             _verdict(receipt, "spfVerdict"), _verdict(receipt, "dkimVerdict")))
    return found


def handle(event: dict[str, Any]) -> dict[str, int]:
    """Sorts the mails of an SES event by verdict; refused mail stays in S3 for review."""
    accepted = refused = 0
    for receipt in receipts(event):
        reason = receipt.refusal()
        if reason:
            refused += 1
            logger.info("inbound mail refused", extra={"key": receipt.object_key, "reason": reason})
        else:
            accepted += 1
            logger.info("inbound mail stored", extra={"key": receipt.object_key})
    return {"accepted": accepted, "refused": refused}
