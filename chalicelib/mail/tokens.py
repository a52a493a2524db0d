"""Signed tokens in email addresses and links. Pure: no I/O.

A reply address is `reply+<dialog>.<signature>@<inbound domain>`: the dialog id in lower-case
base32 (mail systems may fold the case of a local part) and an HMAC of it under the dialog's
site's mail secret, so nobody can guess or forge an address into another dialog, nor reuse
one site's signature for another site's dialog. Unsubscribe links carry the visitor id and an
HMAC the same way.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

REPLY_PREFIX = "reply+"
SIGNATURE_CHARS = 16  # 80 bits of base32
_LOCAL = re.compile(r"^reply\+([a-z2-7]{1,40})\.([a-z2-7]{%d})$" % SIGNATURE_CHARS)
_UNSUBSCRIBE = re.compile(r"^(v_[A-Za-z0-9]{1,40})\.([a-z2-7]{%d})$" % SIGNATURE_CHARS)
_RATE_TOKEN = re.compile(r"^(d_[A-Za-z0-9]{1,40})\.([a-z2-7]{%d})$" % SIGNATURE_CHARS)


def site_mail_secret(secret: bytes, site_id: str) -> bytes:
    """Each site's mail secret, derived from Parley's secret."""
    return hmac.new(secret, f"mail:{site_id}".encode(), hashlib.sha256).digest()


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode().rstrip("=").lower()


def _unb32(text: str) -> bytes | None:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError):
        return None


def _signature(key: bytes, purpose: str, value: str) -> str:
    return _b32(hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).digest())[:SIGNATURE_CHARS]


def reply_local_part(site_key: bytes, dialog_id: str) -> str:
    """The local part of the address replies to a dialog's emails go to."""
    return f"{REPLY_PREFIX}{_b32(dialog_id.encode())}.{_signature(site_key, 'reply', dialog_id)}"


def reply_address(site_key: bytes, dialog_id: str, domain: str) -> str:
    return f"{reply_local_part(site_key, dialog_id)}@{domain}"


def reply_dialog(local_part: str) -> tuple[str, str] | None:
    """(dialog id, signature) a reply local part claims, unverified; None when it is no
    reply address at all."""
    match = _LOCAL.match(local_part.lower())
    if not match:
        return None
    raw = _unb32(match.group(1))
    if raw is None:
        return None
    try:
        dialog_id = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return (dialog_id, match.group(2)) if dialog_id.startswith("d_") else None


def reply_signed(site_key: bytes, dialog_id: str, signature: str) -> bool:
    """Whether `signature` is the site's for this dialog (compared in constant time)."""
    return hmac.compare_digest(_signature(site_key, "reply", dialog_id), signature)


def message_ref_keys(message_ref: str) -> list[str]:
    """The mail-table keys ("ref#...") a Message-ID is stored under: SES's by its id alone (SES
    picks the host name), any other by the whole id."""
    ref = message_ref.strip("<> ").lower()
    local, _, host = ref.partition("@")
    return [f"ref#{local}"] if host.endswith("amazonses.com") else [f"ref#{ref}"]


def unsubscribe_token(site_key: bytes, visitor_id: str) -> str:
    return f"{visitor_id}.{_signature(site_key, 'unsubscribe', visitor_id)}"


def unsubscribe_visitor(token: object) -> tuple[str, str] | None:
    """(visitor id, signature) an unsubscribe token claims, unverified."""
    if not isinstance(token, str):
        return None
    match = _UNSUBSCRIBE.match(token)
    return (match.group(1), match.group(2)) if match else None


def unsubscribe_signed(site_key: bytes, visitor_id: str, signature: str) -> bool:
    return hmac.compare_digest(_signature(site_key, "unsubscribe", visitor_id), signature)


def rate_token(site_key: bytes, dialog_id: str) -> str:
    return f"{dialog_id}.{_signature(site_key, 'rate', dialog_id)}"


def rated_dialog(token: object) -> tuple[str, str] | None:
    """The dialog id and signature a rating token claims, when it is shaped like one."""
    match = _RATE_TOKEN.match(token) if isinstance(token, str) else None
    return (match.group(1), match.group(2)) if match else None


def rate_signed(site_key: bytes, dialog_id: str, signature: str) -> bool:
    return hmac.compare_digest(_signature(site_key, "rate", dialog_id), signature)
