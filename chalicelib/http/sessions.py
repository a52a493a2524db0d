"""Sign-in over HTTPS: visitor sessions (anonymous, remembered by token) and operator login."""
from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger

from chalicelib.proactive import monitor
from chalicelib.realtime import audience
from chalicelib.shared import auth
from chalicelib.shared.auth import Claims
from chalicelib.shared.clock import now_ms, now_s
from chalicelib.shared.config import settings
from chalicelib.shared.errors import Forbidden, Invalid, NotFound, Unauthorized
from chalicelib.site import siteconfig
from chalicelib.storage import operator_store, site_store, visitor_store
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import blocking, cards, tracking

logger = Logger(service="parley", child=True)
_SITE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$")
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


def client_of(headers: Any, source_ip: str) -> tracking.Client:
    """What the HTTP request says about the visitor: address, CloudFront's country, language."""
    language = (headers.get("accept-language") or "").split(",")[0].split(";")[0].strip()
    country = (headers.get("cloudfront-viewer-country") or "").strip().upper()
    return tracking.Client(
        ip=source_ip or "", country=country if len(country) == 2 and country.isalpha() else "",
        language=language if _LANGUAGE.match(language) else "", user_agent=headers.get("user-agent") or "")


def visitor_session(body: Any, origin: str, client: tracking.Client) -> dict[str, Any]:
    """A visitor token for a site, keeping the visitor of a still-valid previous token, and
    the page the widget runs on (a page view: two writes). Refused for a blocked visitor."""
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    site_id = body.get("site_id")
    if not isinstance(site_id, str) or not _SITE_ID.match(site_id):
        raise Invalid("site_id is missing or malformed")
    site = site_store.get_site(site_id)
    if site is None:
        raise NotFound("unknown site")
    if origin not in site.allowed_origins:
        raise Forbidden("this page's origin is not allowed for the site")
    setup = siteconfig.load(site)
    language = body.get("language")
    if isinstance(language, str) and _LANGUAGE.match(language):
        client = replace(client, language=language)
    at = now_ms()
    visitor = _returning_visitor(body.get("token"), site_id)
    blocking.refuse_blocked(setup, visitor, client, at)
    visitor = tracking.record_page_view(setup, visitor, cards.page_view(body.get("page")), client, at)
    if settings.ws_endpoint:  # operators watching the monitor see the page view at once
        with audience.sending(settings.ws_endpoint) as outbox:
            monitor.push_live(visitor, outbox)
    expires_at = now_s() + settings.visitor_token_days * 86400
    token = auth.issue_token(Claims("visitor", visitor.visitor_id, site_id, expires_at), settings.secret)
    return {
        "visitor_id": visitor.visitor_id, "token": token, "expires_at": expires_at, "ws_url": settings.ws_url,
        "email": visitor.email,
        "site": {"site_id": site.site_id, "name": site.name, "language": setup.settings.language,
                 "capture_emails": setup.settings.capture_emails},
    }



def _returning_visitor(token: Any, site_id: str) -> Visitor | None:
    if not isinstance(token, str):
        return None
    try:
        claims = auth.read_token(token, settings.secret, now_s())
    except Unauthorized:
        return None
    if claims.role != "visitor" or claims.site_id != site_id:
        return None
    visitor = visitor_store.get_visitor(claims.subject)
    return visitor if visitor is not None and visitor.site_id == site_id else None


def operator_login(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD:
        raise Invalid("email and password are required")
    operator = operator_store.get_operator_by_email(email.strip().lower()[:320])
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


def form_field(raw_body: bytes | None, name: str) -> str | None:
    """A field of a url-encoded form body (at most 4 KB read)."""
    values = parse_qs((raw_body or b"")[:4096].decode("utf-8", "replace")).get(name)
    return values[0] if values else None
