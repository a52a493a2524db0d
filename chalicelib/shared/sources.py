"""Where a visitor came from: UTM parameters, search terms, a label for the monitor, an email
typed into a page, the primary language of a tag. Pure: no I/O."""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from urllib.parse import parse_qsl, urlsplit

MAX_VALUE = 200
MAX_EMAIL = 254
MAX_SCAN = 100_000  # find_email reads at most this much of a text
UTM_KEYS = ("source", "medium", "campaign", "term", "content")

# (engine, host pattern, query parameters in order of preference)
_ENGINES = (
    ("google", re.compile(r"(?:^|\.)google(?:\.[a-z]{2,3}){1,2}$"), ("q",)),
    ("bing", re.compile(r"(?:^|\.)bing\.com$"), ("q",)),
    ("yahoo", re.compile(r"(?:^|\.)yahoo(?:\.[a-z]{2,3}){1,2}$"), ("p",)),
    ("yandex", re.compile(r"(?:^|\.)(?:yandex(?:\.[a-z]{2,3}){1,2}|ya\.ru)$"), ("text",)),
    ("duckduckgo", re.compile(r"(?:^|\.)duckduckgo\.com$"), ("q",)),
    ("baidu", re.compile(r"(?:^|\.)baidu\.com$"), ("wd", "word")),
    ("ecosia", re.compile(r"(?:^|\.)ecosia\.org$"), ("q",)),
    ("naver", re.compile(r"(?:^|\.)naver\.com$"), ("query",)),
    ("seznam", re.compile(r"(?:^|\.)seznam\.cz$"), ("q",)),
)
# Every quantifier is bounded and possessive, and a match may only start where a run of
# local-part characters starts, so the scan stays linear whatever the text holds.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]{1,64}+)@([A-Za-z0-9-]{1,63}+(?:\.[A-Za-z0-9-]{1,63}+){1,10}+)")
_LANGUAGE = re.compile(r"^[a-z]{2,8}$")


def utm_of(url: str) -> dict[str, str]:
    """The UTM parameters of a page's URL, without the `utm_` prefix (the first of each)."""
    found: dict[str, str] = {}
    for name, value in parse_qsl(_split(url)[1], keep_blank_values=False):
        key = name.strip().lower().removeprefix("utm_")
        if name.lower().startswith("utm_") and key in UTM_KEYS and key not in found and value.strip():
            found[key] = _clean(value)
    return found


def search_query_of(referrer: str) -> str:
    """The search terms in a search engine's referrer, or ""."""
    host, query = _split(referrer)
    params = _engine(host)[1]
    values = dict(parse_qsl(query)[::-1])  # reversed: the first occurrence wins
    for name in params:
        if values.get(name, "").strip():
            return _clean(values[name])
    return ""


def source_of(referrer: str, utm: Mapping[str, str]) -> str:
    """A short label for where the session came from, as the visitor monitor shows it."""
    tagged = " / ".join(utm[key] for key in ("source", "medium") if utm.get(key))
    if tagged or utm.get("campaign"):
        return f"utm: {tagged or utm['campaign']}"[:MAX_VALUE]
    host = _split(referrer)[0]
    engine = _engine(host)[0]
    if engine:
        return f"search: {engine}"
    if host:
        return f"referral: {host.removeprefix('www.')}"[:MAX_VALUE]
    return "direct"


def find_email(text: str) -> str | None:
    """The first plausible email address in free text, lower-cased."""
    for match in _EMAIL.finditer(text[:MAX_SCAN]):
        local, domain = match.groups()
        labels = domain.split(".")
        if (local[0] != "." and local[-1] != "." and ".." not in local and len(match[0]) <= MAX_EMAIL
                and labels[-1].isalpha() and len(labels[-1]) >= 2
                and not any(label.startswith("-") or label.endswith("-") for label in labels)):
            return match[0].lower()
    return None


def primary_language(tag: str) -> str:
    """The primary subtag of a language tag (`de-DE` -> `de`), or "" when it is not one."""
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if _LANGUAGE.match(primary) else ""


def first_language(known: Collection[str], *candidates: str | None, default: str = "en") -> str:
    """The primary subtag of the first candidate (e.g. "ru-RU", then a site's setting) that is
    one of `known`, else `default`."""
    for candidate in candidates:
        primary = primary_language(candidate or "")
        if primary in known:
            return primary
    return default


def url_path(url: str) -> str:
    """The path of a URL as `path_views` counts it: no query or fragment."""
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return "/"


def _split(url: str) -> tuple[str, str]:
    """The lower-cased host and the query of a URL; empty when it does not parse."""
    try:
        parts = urlsplit(url.strip())
        return (parts.hostname or "").lower(), parts.query
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return "", ""


def _engine(host: str) -> tuple[str, tuple[str, ...]]:
    for name, pattern, params in _ENGINES:
        if pattern.search(host):
            return name, params
    return "", ()


def _clean(value: str) -> str:
    return " ".join(value.split())[:MAX_VALUE]
