"""The small HTML pages Parley answers links from emails with (unsubscribe, rating)."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Page:
    status: int
    html: str


def page(status: int, title: str, body: str) -> Page:
    """A page with `title` (escaped here) and `body` (HTML the caller escaped)."""
    return Page(status, (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f'<title>{escape(title)}</title></head>'
        '<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">'
        f'<h1 style="font-size:1.3rem">{escape(title)}</h1>{body}</body></html>'))
