"""Operator passwords (scrypt) and signed, expiring tokens (HMAC-SHA256). Pure: no I/O."""
from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from chalicelib.shared.clock import now_s
from chalicelib.shared.config import settings
from chalicelib.shared.errors import Unauthorized

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
TOKEN_VERSION = "p1"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=_unb64(salt), **_SCRYPT)
    return hmac.compare_digest(candidate, _unb64(digest))


@functools.cache
def dummy_password_hash() -> str:
    """Checked when the email is unknown, so a wrong email costs as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Claims:
    role: str  # "visitor" | "operator"
    subject: str  # visitor_id | operator_id
    site_id: str
    expires_at: int  # epoch seconds
    name: str | None = None


def issue_token(claims: Claims, secret: bytes) -> str:
    if not secret:
        raise RuntimeError("PARLEY_SECRET is not configured")
    payload = {"r": claims.role, "s": claims.subject, "t": claims.site_id, "e": claims.expires_at}
    if claims.name is not None:
        payload["n"] = claims.name
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{TOKEN_VERSION}.{body}.{_sign(body, secret)}"


def read_token(token: str, secret: bytes, now: int) -> Claims:
    """The token's claims, or Unauthorized when it is malformed, forged or expired."""
    if not secret or not isinstance(token, str) or len(token) > 2048:
        raise Unauthorized("invalid token")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_VERSION:
        raise Unauthorized("invalid token")
    if not hmac.compare_digest(parts[2], _sign(parts[1], secret)):
        raise Unauthorized("invalid token")
    try:
        payload = json.loads(_unb64(parts[1]))
        claims = Claims(str(payload["r"]), str(payload["s"]), str(payload["t"]), int(payload["e"]),
                        payload.get("n"))
    except (ValueError, KeyError, TypeError):
        raise Unauthorized("invalid token") from None
    if claims.expires_at <= now:
        raise Unauthorized("token expired")
    return claims


def _sign(body: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, f"{TOKEN_VERSION}.{body}".encode(), hashlib.sha256).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def visitor_token(visitor_id: str, site_id: str) -> str:
    """A fresh visitor token for the configured lifetime (settings.visitor_token_days)."""
    expires_at = now_s() + settings.visitor_token_days * 86400
    return issue_token(Claims("visitor", visitor_id, site_id, expires_at), settings.secret)
