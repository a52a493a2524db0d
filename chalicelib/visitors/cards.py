"""Visitor cards: what operators see and may edit about a visitor. Pure: no I/O."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.shared.errors import Invalid
from chalicelib.storage.visitor_store import Visitor

MAX_NAME = 100
MAX_EMAIL = 254
MAX_PAGE_FIELD = 2048
EDITABLE = ("name", "email", "phone")
# Deliberately simple: one @, a dot in the domain, no spaces or angle brackets. Mail servers
# have the last word; this catches typos such as "jane@", "jane.example.com" or "a b@c.d".
_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_PHONE = re.compile(r"^[0-9+\-(). ]{3,32}$")


def display_name(visitor_id: str, name: str | None) -> str:
    return name or f"Visitor {visitor_id[-4:].upper()}"


def is_email(value: str) -> bool:
    return len(value) <= MAX_EMAIL and bool(_EMAIL.match(value))


def email_key(site_id: str, email: str) -> str:
    """The visitors.email-index key: a site's visitor by email, whatever its case."""
    return f"{site_id}#{email.lower()}"


def gravatar(email: str | None) -> str | None:
    """Gravatar's URL for an email (its SHA-256); d=404 lets the page fall back to initials."""
    if not email:
        return None
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"https://www.gravatar.com/avatar/{digest}?d=404&s=80"


def check_edits(fields: dict[str, Any]) -> dict[str, str | None]:
    """The card fields an operator sent, validated: None clears a field."""
    edits: dict[str, str | None] = {}
    for field in EDITABLE:
        if field in fields:
            value = fields[field]
            if not isinstance(value, str):
                raise Invalid(f"{field} must be a string")
            edits[field] = _CHECKS[field](" ".join(value.split())) or None
    if not edits:
        raise Invalid("nothing to change: send name, email or phone")
    return edits


def _name(value: str) -> str:
    if len(value) > MAX_NAME:
        raise Invalid(f"the name is over {MAX_NAME} characters")
    return value


def _email(value: str) -> str:
    if value and (len(value) > MAX_EMAIL or not _EMAIL.match(value)):
        raise Invalid(f"{value[:60]!r} is not a valid email address")
    return value.lower()


def _phone(value: str) -> str:
    if value and (not _PHONE.match(value) or sum(ch.isdigit() for ch in value) < 3):
        raise Invalid("a phone number is 3 to 32 digits, spaces and + - ( ) .")
    return value


_CHECKS = {"name": _name, "email": _email, "phone": _phone}


def card(visitor: Visitor) -> dict[str, Any]:
    """The visitor as operators see it. Never sent to a visitor."""
    page = {"url": visitor.current_url, "title": visitor.current_title} if visitor.current_url else None
    return {
        "visitor_id": visitor.visitor_id,
        "display_name": display_name(visitor.visitor_id, visitor.name),
        "name": visitor.name, "email": visitor.email, "phone": visitor.phone,
        "avatar": gravatar(visitor.email),
        "current_page": page,
        "first_referrer": visitor.first_referrer,
        "device": visitor.device, "browser": visitor.browser, "os": visitor.os,
        "visits": int(visitor.visits or 0),
        "created_at": int(visitor.created_at),
        "last_seen": int(visitor.last_seen) if visitor.last_seen else None,
        "segments": [],
        "mail_opt_out": bool(visitor.mail_opt_out),
    }


@dataclass(frozen=True)
class PageView:
    url: str
    title: str
    referrer: str

    @property
    def external_referrer(self) -> str:
        """The referrer when it is another site (how the visitor came), else empty."""
        return self.referrer if self.referrer and _host(self.referrer) != _host(self.url) else ""


def _host(url: str) -> str:
    return urlsplit(url).netloc.lower()


def page_view(value: Any) -> PageView | None:
    """The page a widget reports, each field cut to 2048 characters; None when there is none."""
    if not isinstance(value, dict):
        return None
    url, title, referrer = (_cut(value.get(key)) for key in ("url", "title", "referrer"))
    if not url.startswith(("http://", "https://")):
        return None
    return PageView(url, title, referrer if referrer.startswith(("http://", "https://")) else "")


def _cut(value: Any) -> str:
    return value.strip()[:MAX_PAGE_FIELD] if isinstance(value, str) else ""


@dataclass(frozen=True)
class Client:
    device: str | None
    browser: str | None
    os: str | None


def client_of(user_agent: str) -> Client:
    """Device type, browser and OS from a User-Agent header (ua-parser's rules)."""
    if not user_agent:
        return Client(None, None, None)
    from ua_parser import parse  # imported on first use: its rules cost ~80 ms to load

    parsed = parse(user_agent[:1024])
    return Client(_device(user_agent, parsed.device), _named(parsed.user_agent), _named(parsed.os))


def _named(part: Any) -> str | None:
    if part is None or part.family == "Other":
        return None
    return f"{part.family} {part.major}" if part.major else part.family


def _device(user_agent: str, device: Any) -> str:
    family = device.family if device is not None else ""
    if family == "iPad" or "Tablet" in user_agent or ("Android" in user_agent and "Mobile" not in user_agent):
        return "tablet"
    if family in ("iPhone", "iPod") or "Mobile" in user_agent:
        return "mobile"
    return "desktop"
