"""The widget and the console served by the app itself (chalicelib/web.py, app.py's routes):
over the real local stack, and as deployed (files bundled in chalicelib/_web) through
Chalice's test client."""
from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from urllib.parse import urljoin

import pytest

from chalicelib.http import web

ROOT = Path(__file__).resolve().parents[2]
SERVED_SUFFIXES = {".js", ".css", ".html", ".svg", ".png", ".ico", ".txt"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


def fetch(url: str, headers: dict[str, str] | None = None, follow: bool = True) -> tuple[int, Message, bytes]:
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


# --- over the local stack (files read from the repository) -------------------------------


@pytest.mark.parametrize("path, content_type", [
    ("/widget/parley.js", "text/javascript; charset=utf-8"),
    ("/console/index.html", "text/html; charset=utf-8"),
    ("/console/console.js", "text/javascript; charset=utf-8"),
    ("/console/console.css", "text/css; charset=utf-8"),
])
def test_each_file_is_served_as_it_is_in_the_repository(stack, path: str, content_type: str) -> None:
    status, headers, body = fetch(stack.parley_url + path)
    assert status == 200 and body == (ROOT / path.lstrip("/")).read_bytes()
    assert headers["Content-Type"] == content_type
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cache-Control"] == "no-cache"  # from the repository: an edit shows on reload
    assert headers["ETag"].startswith('"') and headers["ETag"].endswith('"') and len(headers["ETag"]) > 10


def test_an_unchanged_file_revalidates_with_304_and_no_body(stack) -> None:
    url = stack.parley_url + "/widget/parley.js"
    etag = fetch(url)[1]["ETag"]
    for if_none_match in (etag, f"W/{etag}", f'"stale", {etag}'):
        status, headers, body = fetch(url, {"If-None-Match": if_none_match})
        assert (status, body) == (304, b"") and headers["ETag"] == etag
    status, _, body = fetch(url, {"If-None-Match": '"stale"'})
    assert status == 200 and body


def test_the_console_page_carries_a_strict_content_security_policy(stack) -> None:
    _, headers, _ = fetch(stack.parley_url + "/console/index.html")
    policy = {d.split()[0]: d.split()[1:] for d in headers["Content-Security-Policy"].split("; ")}
    assert policy["default-src"] == policy["script-src"] == policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == policy["base-uri"] == ["'none'"]
    assert {"'self'", "wss:", "https:"} <= set(policy["connect-src"])
    assert headers["Referrer-Policy"] == "same-origin"
    assert "Content-Security-Policy" not in fetch(stack.parley_url + "/console/console.js")[1]


def test_the_console_html_has_no_inline_script_or_style() -> None:
    html = (ROOT / "console" / "index.html").read_text()
    assert "<style" not in html and not re.search(r"\s(style|on[a-z]+)=", html)
    assert all('src="' in tag for tag in html.split("<script")[1:])  # every script is a file


@pytest.mark.parametrize("path", [
    "/widget/..%2Fapp.py",
    "/console/..%2F..%2Fapp.py",
    "/console/%2E%2E%2Fapp.py",
    "/console/..",
    "/console/.gitignore",
    "/widget/.env",
    "/console/README.md",
    "/console/parley.js",  # the widget's file, asked for in the console
    "/widget/index.html",
    "/widget/PARLEY.JS",
])
def test_anything_not_on_the_allowlist_is_not_found(stack, path: str) -> None:
    status, headers, body = fetch(stack.parley_url + path)
    assert status == 404 and body == b"Not found\n"
    assert "ETag" not in headers


def test_paths_below_a_file_are_not_routed(stack) -> None:
    status, _, body = fetch(stack.parley_url + "/console/x/../../app.py")
    assert status == 403 and b"Missing Authentication Token" in body


@pytest.mark.parametrize("path, location", [("/console", "console/index.html"), ("/console/", "index.html")])
def test_console_redirects_relatively_to_its_page(stack, path: str, location: str) -> None:
    status, headers, _ = fetch(stack.parley_url + path, follow=False)
    assert status == 302 and headers["Location"] == location
    assert urljoin(stack.parley_url + path, location) == stack.parley_url + "/console/index.html"
    status, headers, body = fetch(stack.parley_url + path)
    assert status == 200 and b"<title>Parley console</title>" in body


def test_the_root_opens_the_console(stack) -> None:
    status, _, body = fetch(stack.parley_url + "/")
    assert status == 200 and b"<title>Parley console</title>" in body


@pytest.mark.parametrize("stage", ["https://abc.execute-api.eu-west-1.amazonaws.com/api", "https://chat.shop.example"])
@pytest.mark.parametrize("slash", ["", "/"])
def test_the_redirect_keeps_an_api_gateway_stage(stage: str, slash: str) -> None:
    request_path = "/api/console" + slash  # requestContext.path: the stage is in it on execute-api hosts
    assert urljoin(stage + "/console" + slash, web.console_location(request_path)) == stage + "/console/index.html"


# --- what is served: the allowlist and the repository agree ------------------------------


def test_every_widget_and_console_file_is_on_the_allowlist_and_nothing_else() -> None:
    for section, names in web.ALLOWED.items():
        on_disk = {p.name for p in (ROOT / section).iterdir() if p.suffix in SERVED_SUFFIXES}
        assert set(names) == on_disk, f"{section}/: update chalicelib/web.py ALLOWED"
        assert all(web.NAME.fullmatch(name) and Path(name).suffix in web.CONTENT_TYPES for name in names)


# --- as deployed: files bundled in chalicelib/_web -----------------------------------------


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, Path]]:
    """app.py behind Chalice's test client, with the files where the deploy build puts them."""
    from chalice.test import Client

    import app as app_module

    bundle = tmp_path / "_web"
    for section in ("widget", "console"):
        shutil.copytree(ROOT / section, bundle / section)
    monkeypatch.setattr(web, "BUNDLED_DIR", bundle)
    web.default_assets.cache_clear()
    with Client(app_module.app, project_dir=str(tmp_path)) as client:
        yield client.http, bundle
    web.default_assets.cache_clear()


@pytest.mark.parametrize("path, cache_control", [
    ("/widget/parley.js", "public, max-age=300"),
    ("/console/console.js", "public, max-age=300"),
    ("/console/console.css", "public, max-age=300"),
    ("/console/index.html", "no-cache"),
])
def test_deployed_js_and_css_are_cached_for_five_minutes_and_html_revalidates(deployed, path, cache_control) -> None:
    http, _ = deployed
    response = http.get(path)
    assert response.status_code == 200 and response.body == (ROOT / path.lstrip("/")).read_bytes()
    assert response.headers["Cache-Control"] == cache_control
    again = http.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.body == b""
    assert again.headers["Cache-Control"] == cache_control and "Content-Type" not in again.headers


def test_deployed_files_are_read_once_per_container(deployed) -> None:
    http, bundle = deployed
    first = http.get("/widget/parley.js")
    (bundle / "widget" / "parley.js").write_text("changed()")
    second = http.get("/widget/parley.js")
    assert second.body == first.body and second.headers["ETag"] == first.headers["ETag"]


def test_deployed_unknown_names_and_the_redirect(deployed) -> None:
    http, _ = deployed
    assert http.get("/console/..%2Fapp.py").status_code == 404
    assert http.get("/widget/console.js").status_code == 404
    response = http.get("/console")
    assert response.status_code == 302 and response.headers["Location"] == "console/index.html"


def test_a_local_edit_shows_on_the_next_request_with_a_new_etag(tmp_path: Path) -> None:
    (tmp_path / "widget").mkdir()
    script = tmp_path / "widget" / "parley.js"
    script.write_text("one()")
    assets = web.Assets(tmp_path, development=True)
    before = assets.answer("widget", "parley.js")
    script.write_text("two(); three()")
    os.utime(script, ns=(script.stat().st_mtime_ns + 1_000_000,) * 2)
    after = assets.answer("widget", "parley.js", if_none_match=before.headers["ETag"])
    assert (before.body, after.status, after.body) == ("one()", 200, "two(); three()")
    assert after.headers["ETag"] != before.headers["ETag"]
