"""The visitor widget and the operator console as HTTP answers (the app's ``/widget/{name}``,
``/console/{name}`` and ``/console`` routes; docs/hosting.md).

Files come from ``chalicelib/_web/{widget,console}/`` when that directory exists (the deploy
build copies the repository's ``widget/`` and ``console/`` there, so they ship inside the
Lambda package), else from the repository's own ``widget/`` and ``console/`` (local runs,
tests). Only the names in :data:`ALLOWED` are ever served.

Deployed, each file is read once per container and JS/CSS may be cached for five minutes;
from the repository a file is re-read when it changes and every answer says ``no-cache``,
so an edit shows up on the next reload (the ETag still spares unchanged bodies).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from chalicelib.shared.config import settings

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # chalicelib/
BUNDLED_DIR = PACKAGE_DIR / "_web"
REPO_DIR = PACKAGE_DIR.parent

ALLOWED: dict[str, frozenset[str]] = {
    "widget": frozenset({"parley.js"}),
    "console": frozenset({
        "index.html", "console.js", "base.css", "console.css",
        "util.js", "state.js", "net.js", "list.js", "routing.js", "transfer.js", "team.js", "feed.js", "dialog.js",
        "templates.js", "card.js", "full.js", "files.js", "alerts.js", "signin.js", "frames.js",
        "views.js", "monitor.js", "proactive.js", "settings.js", "rules.js",
    }),
}
NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")  # no dotfiles, no separators
CONTENT_TYPES = {  # text only: a binary type would need API Gateway binary media types
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
CACHE_DEPLOYED = "public, max-age=300"  # short: a redeploy reaches every browser within minutes
NO_CACHE = "no-cache"  # always revalidate (HTML everywhere; everything when serving the repository)


def console_csp(local_s3: str | None) -> str:
    """The console's CSP. Images: Gravatar and S3's presigned links (https), or local mode's S3."""
    images = f"img-src 'self' data: https:{' ' + local_s3 if local_s3 else ''}"
    return "; ".join([*_CONSOLE_CSP[:2], images, *_CONSOLE_CSP[2:]])


_CONSOLE_CSP = [
    "default-src 'self'",
    "connect-src 'self' https: wss: ws: http:",  # the APIs may be other hosts; uploads go to S3
    "style-src 'self'",
    "script-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
]


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


NOT_FOUND = Answer(404, {"Content-Type": CONTENT_TYPES[".txt"], "X-Content-Type-Options": "nosniff"}, "Not found\n")


@dataclass(frozen=True)
class _File:
    body: str
    etag: str
    version: tuple[int, int]  # (mtime_ns, size) when read


class Assets:
    """The allowed files under ``root/widget`` and ``root/console``, cached in memory."""

    def __init__(self, root: Path, development: bool) -> None:
        self.root = root
        self.development = development  # re-read changed files; nothing cached by browsers
        self._files: dict[Path, _File] = {}

    def answer(self, section: str, name: str, if_none_match: str | None = None) -> Answer:
        if name not in ALLOWED.get(section, ()) or not NAME.fullmatch(name):
            return NOT_FOUND
        try:
            file = self._load(self.root / section / name)
        except (OSError, UnicodeDecodeError):
            return NOT_FOUND
        headers = self._headers(section, name, file.etag)
        if _etag_matches(if_none_match, file.etag):
            del headers["Content-Type"]
            return Answer(304, headers)
        return Answer(200, headers, file.body)

    def _load(self, path: Path) -> _File:
        cached = self._files.get(path)
        if cached is not None and not self.development:
            return cached
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        if cached is not None and cached.version == version:
            return cached
        data = path.read_bytes()
        file = _File(data.decode("utf-8"), '"' + hashlib.sha256(data).hexdigest()[:32] + '"', version)
        self._files[path] = file
        return file

    def _headers(self, section: str, name: str, etag: str) -> dict[str, str]:
        suffix = Path(name).suffix
        html = suffix == ".html"
        headers = {
            "Content-Type": CONTENT_TYPES[suffix],
            "Cache-Control": NO_CACHE if html or self.development else CACHE_DEPLOYED,
            "ETag": etag,
            "X-Content-Type-Options": "nosniff",
        }
        if section == "widget":
            headers["Cross-Origin-Resource-Policy"] = "cross-origin"  # embedded by other sites
        if section == "console" and html:
            headers["Content-Security-Policy"] = console_csp(_origin(settings.aws_endpoint))
            headers["Referrer-Policy"] = "same-origin"
        return headers


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def console_location(request_path: str) -> str:
    """Where ``/console`` redirects, relative so a stage prefix (``/api/console``) is kept:
    ``console/index.html`` from ``.../console``, ``index.html`` from ``.../console/`` (API
    Gateway routes both to ``/console`` and keeps the slash in the request context's path)."""
    return "index.html" if request_path.endswith("/") else "console/index.html"


@cache
def default_assets() -> Assets:
    if BUNDLED_DIR.is_dir():
        return Assets(BUNDLED_DIR, development=False)
    return Assets(REPO_DIR, development=True)


def answer(section: str, name: str, if_none_match: str | None = None) -> Answer:
    return default_assets().answer(section, name, if_none_match)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` uses the weak comparison: ``W/"x"`` matches ``"x"``; ``*`` matches all."""
    if not if_none_match:
        return False
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag in candidates
