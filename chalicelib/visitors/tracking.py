"""Visitor tracking: page views, custom events and identities become the visitor's profile,
each with one conditional write of the visitor (plus one event), and segment membership is
recomputed whenever that data changes. The rules read the profile as a `conditions.Profile`."""
from __future__ import annotations

import hashlib
import hmac
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from chalicelib.shared import sources
from chalicelib.shared.clock import new_id
from chalicelib.shared.config import settings
from chalicelib.shared.errors import Invalid
from chalicelib.site import conditions
from chalicelib.site import settings as site_settings
from chalicelib.site.siteconfig import SiteSetup
from chalicelib.storage import dialog_store, visitor_event_store, visitor_store
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import cards, events

SESSION_GAP_MS = 30 * 60_000  # a page view after this long without one starts a new visit
LIVE_MS = 2 * 3600_000  # a page keeps its visitor live this long unless the tab closes first
SHARDS = 16  # the scheduled evaluation reads due visitors shard by shard
MAX_SESSION_URLS = 50
MAX_PATHS = 100
MAX_EVENT_NAMES = 30
WRITE_ATTEMPTS = 5

Values = dict[str, Any]  # visitor attribute -> new value (None removes it)


@dataclass(frozen=True)
class Client:
    """What the request itself says about the visitor."""

    ip: str = ""
    country: str = ""  # ISO alpha-2 from CloudFront-Viewer-Country, else empty
    language: str = ""
    user_agent: str = ""


def shard_of(visitor_id: str) -> str:
    return str(zlib.crc32(visitor_id.encode()) % SHARDS)


def json_map(value: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(value) if value else {}
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def profile_of(visitor: Visitor, now_ms: int, *, working_hours: bool = True,
               operator_available: bool = False) -> conditions.Profile:
    """What the rules see of a visitor at `now_ms`."""
    return conditions.Profile(
        now_ms=now_ms,
        session_started_ms=_int(visitor.session_started), page_started_ms=_int(visitor.page_started),
        url=visitor.current_url or "", session_urls=tuple(str(url) for url in visitor.session_urls or ()),
        path_views={k: v for k, v in json_map(visitor.path_views).items() if isinstance(v, int)},
        referrer=visitor.session_referrer or "", first_referrer=visitor.first_referrer or "",
        utm={k: v for k, v in json_map(visitor.utm).items() if isinstance(v, str)},
        search_query=visitor.search_query or "", country=visitor.country or "unknown",
        device=visitor.device or "", browser=visitor.browser or "", os=visitor.os or "",
        language=visitor.language or "", visits=int(visitor.visits or 0), email=visitor.email,
        segments=frozenset(visitor.segments or ()), events=json_map(visitor.events),
        working_hours=working_hours, operator_available=operator_available,
    )


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def segments_of(setup: SiteSetup, visitor: Visitor, now_ms: int) -> set[str]:
    profile = profile_of(visitor, now_ms)
    return {s.segment_id for s in setup.segments if conditions.evaluate(s.match, profile)}


def may_be_greeted(setup: SiteSetup, visitor: Visitor, now_ms: int) -> bool:
    """Whether a trigger could still greet this visitor in this session: the scheduled
    evaluation reads only such visitors (the sparse due-index)."""
    if not setup.message_triggers:
        return False
    if visitor.popup_session == visitor.session_id and int(visitor.popups_used or 0) >= setup.settings.popups_per_session:
        return False
    last = visitor.last_popup_at
    return last is None or now_ms - int(last) >= setup.settings.cooldown_minutes * 60_000


# --- page views -------------------------------------------------------------------------------

def page_view_values(visitor: Visitor, page: cards.PageView | None, client: Client, now_ms: int) -> Values:
    """The attributes a page view changes (the visitor as read, or a new one)."""
    values: Values = {"last_seen": now_ms, "ip": client.ip[:64] or None}
    agent = cards.client_of(client.user_agent)
    values |= {name: value for name, value in (("device", agent.device), ("browser", agent.browser),
                                                ("os", agent.os)) if value}
    if client.language:
        values["language"] = client.language[:35]
    if client.country:
        values["country"] = client.country
    new_session = not visitor.session_id or now_ms - int(visitor.last_seen or 0) > SESSION_GAP_MS
    if new_session:
        values |= {"session_id": new_id("s"), "session_started": now_ms, "visits": int(visitor.visits or 0) + 1,
                   "session_urls": [], "session_referrer": None, "utm": None, "search_query": None}
    if page is not None:
        values |= _page_values(visitor, page, now_ms, new_session)
    return values


def _page_values(visitor: Visitor, page: cards.PageView, now_ms: int, new_session: bool) -> Values:
    values: Values = {"current_url": page.url, "current_title": page.title or None, "page_started": now_ms}
    urls = [] if new_session else list(visitor.session_urls or ())
    values["session_urls"] = (urls + [page.url])[-MAX_SESSION_URLS:]
    paths = json_map(visitor.path_views)
    path = urlsplit(page.url).path or "/"
    if path in paths or len(paths) < MAX_PATHS:
        paths[path] = int(paths.get(path) or 0) + 1
    values["path_views"] = json.dumps(paths, separators=(",", ":"))
    utm = sources.utm_of(page.url)
    if utm:
        values["utm"] = json.dumps(utm, separators=(",", ":"))
    external = page.external_referrer
    if external and (new_session or not visitor.session_referrer):
        values["session_referrer"] = external
        values["search_query"] = sources.search_query_of(external) or None
    if external and not visitor.first_referrer:
        values["first_referrer"] = external
    return values


def liveness_values(setup: SiteSetup, visitor: Visitor, now_ms: int) -> Values:
    """Index keys after a page view: live (the monitor), due (the schedule) while a greeting
    is still possible, and no follow-up email pending (the visitor came back)."""
    due = may_be_greeted(setup, visitor, now_ms)
    return {"live_site": visitor.site_id, "active_until": now_ms + LIVE_MS,
            "due_shard": shard_of(visitor.visitor_id) if due else None,
            "followup_shard": None, "followup_at": None}


def record_page_view(setup: SiteSetup, visitor: Visitor | None, page: cards.PageView | None,
                     client: Client, now_ms: int) -> Visitor:
    """Records a page view: a new visitor is one PutItem, a known one one UpdateItem; then one
    PutItem of the event. Two writes in all."""
    if visitor is None:
        visitor = Visitor(new_id("v"), site_id=setup.site.site_id, created_at=now_ms, visits=0, version=0)
        _apply(visitor, _page_view_change(setup, page, client, now_ms)(visitor))
        visitor.segments = segments_of(setup, visitor, now_ms) or None
        visitor_store.put_visitor(visitor)
    else:
        visitor = change(setup, visitor, _page_view_change(setup, page, client, now_ms), now_ms)
    if page is not None:
        visitor_event_store.put_visitor_event(events.new_event(visitor.visitor_id, "pageview", now_ms, {
            "url": page.url, "title": page.title, "referrer": page.referrer}))
    return visitor


def _page_view_change(setup: SiteSetup, page: cards.PageView | None, client: Client,
                      now_ms: int) -> Callable[[Visitor], Values]:
    def compute(visitor: Visitor) -> Values:
        values = page_view_values(visitor, page, client, now_ms)
        after = _copy_with(visitor, values)
        return values | liveness_values(setup, after, now_ms)
    return compute


# --- writes -----------------------------------------------------------------------------------

def change(setup: SiteSetup, visitor: Visitor, compute: Callable[[Visitor], Values], now_ms: int) -> Visitor:
    """Applies `compute`'s values to the visitor with one conditional UpdateItem (segments
    recomputed in the same write), reading again when another write raced this one."""
    for _ in range(WRITE_ATTEMPTS):
        values = compute(visitor)
        after = _copy_with(visitor, values)
        if "email" in values:
            email = values["email"]
            values["site_email"] = cards.email_key(visitor.site_id, email) if email else None
        segments = segments_of(setup, after, now_ms)
        if segments != set(visitor.segments or ()):
            values["segments"] = segments or None
        actions = [getattr(Visitor, name).set(value) if value not in (None, "") else getattr(Visitor, name).remove()
                   for name, value in values.items()]
        if visitor_store.update_visitor_at_version(visitor.visitor_id, int(visitor.version or 0), actions):
            _apply(visitor, values)
            visitor.version = int(visitor.version or 0) + 1
            if "segments" in values and visitor.open_dialog_id:
                dialog_store.set_dialog_segments(visitor.open_dialog_id, set(visitor.segments or ()))
            return visitor
        fresh = visitor_store.get_visitor(visitor.visitor_id)
        if fresh is None or fresh.site_id != visitor.site_id:
            raise Invalid("visitor not found")
        visitor = fresh
    raise Invalid("the visitor's profile is changing right now; try again")


def _apply(visitor: Visitor, values: Values) -> None:
    for name, value in values.items():
        setattr(visitor, name, None if value == "" else value)
    if not visitor.segments:
        visitor.segments = None


def _copy_with(visitor: Visitor, values: Values) -> Visitor:
    copy = Visitor.from_raw_data(visitor.serialize())
    _apply(copy, values)
    return copy


# --- custom events and identities --------------------------------------------------------

def record_event(setup: SiteSetup, visitor: Visitor, name: str, props: dict[str, Any], now_ms: int) -> Visitor:
    """A custom event (`Parley.track`): the visitor's latest props for it, its count, and the
    event in the visitor's log."""
    def compute(current: Visitor) -> Values:
        known = json_map(current.events)
        entry = known.pop(name, None) or {}
        known[name] = {"count": int(entry.get("count") or 0) + 1, "at": now_ms, "props": props}
        while len(known) > MAX_EVENT_NAMES:
            known.pop(min(known, key=lambda key: known[key].get("at") or 0))
        return {"events": json.dumps(known, separators=(",", ":")), "last_seen": now_ms}
    visitor = change(setup, visitor, compute, now_ms)
    visitor_event_store.put_visitor_event(events.new_event(visitor.visitor_id, "event", now_ms, {"name": name, "props": props}))
    return visitor


def identity_hash(site_secret: bytes, external_id: str) -> str:
    """The `hash` a shop computes for `Parley.identify`: HMAC-SHA256 of its user id."""
    return hmac.new(site_secret, external_id.encode(), hashlib.sha256).hexdigest()


def site_secret(site_id: str) -> bytes:
    """Each site's identity secret, derived from Parley's secret (shown to the shop's admin)."""
    return hmac.new(settings.secret, f"identify:{site_id}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Identified:
    visitor: Visitor
    verified: bool
    switch_to: str | None = None  # another visitor id: the verified profile of this person


def identify(setup: SiteSetup, visitor: Visitor, identity: dict[str, str], now_ms: int) -> Identified:
    """`Parley.identify`: a verified id (its hash checked in constant time) goes onto the card,
    or points to the profile that already has it; unverified name and email go onto the card
    unless the profile is verified."""
    external_id = identity.get("id") or ""
    verified = False
    if external_id and "hash" in identity:
        expected = identity_hash(site_secret(visitor.site_id), external_id)
        if not hmac.compare_digest(expected, identity["hash"]):
            raise Invalid("the identity hash does not match this id")
        verified = True
        owner = visitor_store.verified_visitor(visitor.site_id, external_id)
        if owner is not None and owner != visitor.visitor_id:
            return Identified(visitor, True, owner)
    edits = cards.check_edits({k: identity[k] for k in ("name", "email") if identity.get(k)}) \
        if identity.get("name") or identity.get("email") else {}

    def compute(current: Visitor) -> Values:
        values: Values = {}
        if verified:
            values |= {"external_id": external_id, "verified": True,
                       "site_external": f"{current.site_id}#{external_id}"}
        if verified or not current.verified:
            values |= {name: value for name, value in edits.items() if value}
        return values
    return Identified(change(setup, visitor, compute, now_ms), verified)


def card_extras(visitor: Visitor, setup: SiteSetup | None) -> dict[str, Any]:
    """The tracking fields of a visitor's card (operators only)."""
    names = {s.segment_id: s.name for s in setup.segments} if setup else {}
    return {
        "segments": [{"segment_id": sid, "name": names.get(sid, sid)} for sid in sorted(visitor.segments or ())],
        "utm": json_map(visitor.utm), "search_query": visitor.search_query,
        "language": visitor.language, "country": visitor.country or "unknown",
        "external_id": visitor.external_id, "verified": bool(visitor.verified),
        "session_started": _int(visitor.session_started), "page_started": _int(visitor.page_started),
        "events": json_map(visitor.events),
    }


def full_card(visitor: Visitor, setup: SiteSetup | None) -> dict[str, Any]:
    """The visitor's card with what tracking knows (operators only); `mail_opt_out` is null
    where Parley sends no email (no inbound domain)."""
    card = cards.card(visitor) | card_extras(visitor, setup)
    if not settings.mail_enabled:
        card["mail_opt_out"] = None
    return card


def within_hours(setup: SiteSetup, now_ms: int) -> bool:
    return site_settings.within_hours(setup.settings, now_ms)
