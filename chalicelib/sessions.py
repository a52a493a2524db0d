"""Sign-in over HTTPS: visitor sessions (anonymous, remembered by token) and operator login."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib import auth, events, visitors
from chalicelib.auth import Claims
from chalicelib.clock import new_id, now_ms, now_s
from chalicelib.config import settings
from chalicelib.errors import Forbidden, Invalid, NotFound, Unauthorized
from chalicelib.storage import access
from chalicelib.storage.models import Visitor

logger = Logger(service="parley", child=True)
_SITE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.:\[\]-]{1,255}$")
MAX_PASSWORD = 1024
MAX_BODY = 32 * 1024  # a page's url, title and referrer may be 2048 characters each


def parse_body(raw: bytes | None) -> Any:
    """A request's JSON body whatever its Content-Type: the widget posts as text/plain, a CORS
    "simple request" that needs no preflight (one request less per page, no OPTIONS route)."""
    if not raw:
        return None
    if len(raw) > MAX_BODY:
        raise Invalid(f"the body is larger than {MAX_BODY} bytes")
    try:
        return json.loads(raw)
    except ValueError:
        return None


def cors_headers(origin: str) -> dict[str, str]:
    """Lets the page read the answer. Safe for any origin: a token is only ever issued to an
    origin the site allows, and an error says nothing about anyone."""
    if not _ORIGIN.match(origin):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def visitor_session(body: Any, origin: str, user_agent: str = "") -> dict[str, Any]:
    """A visitor token for a site, keeping the visitor of a still-valid previous token, and
    the page the widget runs on (a page view: two writes at most)."""
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    site_id = body.get("site_id")
    if not isinstance(site_id, str) or not _SITE_ID.match(site_id):
        raise Invalid("site_id is missing or malformed")
    site = access.get_site(site_id)
    if site is None:
        raise NotFound("unknown site")
    if origin not in site.allowed_origins:
        raise Forbidden("this page's origin is not allowed for the site")
    seen = _Seen(visitors.page_view(body.get("page")), body.get("visit") is True, user_agent, now_ms())
    visitor_id = _returning_visitor(body.get("token"), site_id)
    if visitor_id is None or not _record_return(visitor_id, site_id, seen):
        visitor_id = _new_visitor(site_id, seen)
    if seen.page is not None:
        _record_page_view(visitor_id, seen.page, seen.at)
    expires_at = now_s() + settings.visitor_token_days * 86400
    token = auth.issue_token(Claims("visitor", visitor_id, site_id, expires_at), settings.secret)
    return {
        "visitor_id": visitor_id, "token": token, "expires_at": expires_at, "ws_url": settings.ws_url,
        "site": {"site_id": site.site_id, "name": site.name},
    }


def _returning_visitor(token: Any, site_id: str) -> str | None:
    if not isinstance(token, str):
        return None
    try:
        claims = auth.read_token(token, settings.secret, now_s())
    except Unauthorized:
        return None
    if claims.role != "visitor" or claims.site_id != site_id:
        return None
    return claims.subject


@dataclass(frozen=True)
class _Seen:
    page: visitors.PageView | None
    new_visit: bool
    user_agent: str
    at: int


def _new_visitor(site_id: str, seen: _Seen) -> str:
    client = visitors.client_of(seen.user_agent)
    visitor = Visitor(new_id("v"), site_id=site_id, created_at=seen.at, last_seen=seen.at, visits=1,
                      device=client.device, browser=client.browser, os=client.os)
    if seen.page is not None:
        visitor.current_url, visitor.current_title = seen.page.url, seen.page.title or None
        visitor.first_referrer = seen.page.external_referrer or None
    access.put_visitor(visitor)
    return visitor.visitor_id


def _record_return(visitor_id: str, site_id: str, seen: _Seen) -> bool:
    """Updates a returning visitor (one write); False when the record is gone."""
    client = visitors.client_of(seen.user_agent)
    actions = [Visitor.last_seen.set(seen.at)]
    actions += [getattr(Visitor, name).set(value) for name, value in
                (("device", client.device), ("browser", client.browser), ("os", client.os)) if value]
    if seen.new_visit:
        actions.append(Visitor.visits.add(1))
    if seen.page is not None:
        actions.append(Visitor.current_url.set(seen.page.url))
        actions.append(Visitor.current_title.set(seen.page.title) if seen.page.title
                       else Visitor.current_title.remove())
        if seen.page.external_referrer:
            actions.append(Visitor.first_referrer.set(Visitor.first_referrer | seen.page.external_referrer))
    return access.update_visitor(visitor_id, site_id, actions) is not None


def _record_page_view(visitor_id: str, page: visitors.PageView, at_ms: int) -> None:
    access.put_visitor_event(events.new_event(visitor_id, "pageview", at_ms, {
        "url": page.url, "title": page.title, "referrer": page.referrer}))


def operator_login(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD:
        raise Invalid("email and password are required")
    operator = access.get_operator_by_email(email.strip().lower()[:320])
    stored = operator.password_hash if operator else auth.dummy_password_hash()
    if not auth.verify_password(password, stored) or operator is None:
        logger.info("operator sign-in refused")
        raise Unauthorized("wrong email or password")
    expires_at = now_s() + settings.operator_token_hours * 3600
    claims = Claims("operator", operator.operator_id, operator.site_id, expires_at, operator.name)
    return {
        "token": auth.issue_token(claims, settings.secret), "expires_at": expires_at,
        "ws_url": settings.ws_url,
        "operator": {"operator_id": operator.operator_id, "name": operator.name,
                     "email": operator.email, "site_id": operator.site_id},
    }
