"""The README's screenshots, made by really using Parley on the local stack.

    python3 dev.py screenshots [--out DIR]      # default: docs/screenshots

Starts the local stack, lets a few visitors write (one of them on a phone, in the demo shop's
widget, in a real Chromium), answers them as the operator in the console (and over the websocket
protocol for steps the console does not offer), then saves

- ``console.png``: the operator console at 1280x800 with the demo conversation open;
- ``widget-mobile.png``: the shop on a 390x844 phone (device scale 2: 780x1688 pixels) with the
  widget open on the same conversation.

Needs Debian's chromium (``apt-get install chromium``); no browser is downloaded.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from infra.local.chromium import CHROMIUM, launch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {
    "viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Mobile Safari/537.36",
}
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Version/18.1 Safari/605.1.15")
WAIT = 20.0  # seconds for any one step: a slow machine, not a timed assertion


# ---- the protocol, spoken directly (docs/protocol.md) --------------------------------------

def http_json(url: str, body: dict[str, Any], origin: str, user_agent: str | None = None,
              content_type: str = "application/json") -> dict[str, Any]:
    headers = {"Content-Type": content_type, "Origin": origin} | ({"User-Agent": user_agent} if user_agent else {})
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"POST {url}: {exc.code} {exc.read()[:300]!r}") from None


def post_to_s3(upload: dict[str, Any], data: bytes, name: str, content_type: str) -> None:
    """The browser's part of an upload: a multipart POST of the signed fields, then the file."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
             for key, value in upload["fields"].items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f'Content-Type: {content_type}\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(upload["url"], data=b"".join(parts), method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status not in (200, 201, 204):
            raise RuntimeError(f"S3 refused the upload: {response.status}")


class Socket:
    """One websocket connection; every frame received is kept, in order."""

    def __init__(self, ws_url: str, token: str, origin: str, user_agent: str | None = None) -> None:
        url = f"{ws_url}?v=1&token={urllib.parse.quote(token, safe='')}"
        self.ws: ClientConnection = connect(url, origin=Origin(origin), max_size=2**22, max_queue=None, open_timeout=WAIT,
                                            user_agent_header=user_agent or "Parley screenshots", legacy=True)
        self.frames: list[dict[str, Any]] = []

    def send(self, frame: dict[str, Any]) -> None:
        self.ws.send(json.dumps(frame))

    def wait(self, match: Callable[[dict[str, Any]], bool], start: int = 0, timeout: float = WAIT) -> dict[str, Any]:
        """The first frame from index ``start`` on that matches; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        seen = start
        while True:
            for frame in self.frames[seen:]:
                if match(frame):
                    return frame
            seen = len(self.frames)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching frame in {timeout:.0f} s; last frames: {self.frames[-5:]}")
            try:
                self.frames.append(json.loads(self.ws.recv(timeout=left)))
            except TimeoutError:
                pass

    def drain(self) -> None:
        """Reads what has arrived so far (keeps the connection's buffer small)."""
        try:
            while True:
                self.frames.append(json.loads(self.ws.recv(timeout=0)))
        except TimeoutError:
            pass

    def request(self, frame: dict[str, Any], match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Sends a frame; returns the first later frame that matches, or an error about it."""
        self.drain()
        start = len(self.frames)
        self.send(frame)
        cid = frame.get("client_id")
        answer = self.wait(lambda f: match(f) or (f.get("type") == "error" and f.get("client_id") == cid), start)
        if answer.get("type") == "error":
            raise RuntimeError(f"{frame['type']} refused: {answer}")
        return answer

    def message(self, text: str, dialog_id: str | None = None, **extra: Any) -> dict[str, Any]:
        """Sends a message (or note, or file) and returns its ack."""
        cid = uuid.uuid4().hex
        frame = {"type": "message", "client_id": cid, "text": text} | extra
        if dialog_id:
            frame["dialog_id"] = dialog_id
        return self.request(frame, lambda f: f.get("type") == "ack" and f.get("client_id") == cid)

    def upload(self, data: bytes, name: str, content_type: str, dialog_id: str | None = None) -> dict[str, str]:
        """Uploads a file as the protocol says; returns the ``file`` to put in a message."""
        cid = uuid.uuid4().hex
        frame = {"type": "upload", "client_id": cid, "name": name, "size": len(data), "content_type": content_type}
        if dialog_id:
            frame["dialog_id"] = dialog_id
        upload = self.request(frame, lambda f: f.get("type") == "upload" and f.get("client_id") == cid)
        post_to_s3(upload, data, name, content_type)
        return {"key": upload["file"]["key"], "name": upload["file"]["name"]}

    def close(self) -> None:
        self.ws.close()


class OperatorSocket(Socket):
    """An operator signed in with ``POST /api/operator/login``, connected like the console."""

    def __init__(self, stack: Any, email: str | None = None, password: str | None = None) -> None:
        login = http_json(f"{stack.parley_url}/api/operator/login",
                          {"email": email or stack.operator_email, "password": password or stack.operator_password},
                          origin=stack.parley_url)
        self.operator = login["operator"]
        super().__init__(login["ws_url"], login["token"], origin=stack.parley_url)
        self.send({"type": "subscribe", "status": "open"})

    def visitor(self, visitor_id: str) -> dict[str, Any]:
        return self.request({"type": "visitor", "visitor_id": visitor_id},
                            lambda f: f.get("type") == "visitor" and f.get("visitor", {}).get("visitor_id") == visitor_id
                            and "dialogs" in f)


class VisitorSocket(Socket):
    """A visitor as the widget would be: a session for a shop page, then a websocket."""

    def __init__(self, stack: Any, path: str, title: str, referrer: str = "", user_agent: str | None = None) -> None:
        shop = stack.shop_url.rstrip("/")
        page = {"url": f"{shop}/{path}", "title": title, "referrer": referrer}
        session = http_json(f"{stack.parley_url}/api/visitor/session",
                            {"site_id": "demo", "page": page, "visit": True}, origin=shop, user_agent=user_agent,
                            content_type="text/plain")  # as the widget sends it
        self.visitor_id = session["visitor_id"]
        super().__init__(session["ws_url"], session["token"], origin=shop, user_agent=user_agent)
        self.request({"type": "resume", "after_seq": 0}, lambda f: f.get("type") == "history")


# ---- the demo ------------------------------------------------------------------------------

def _present(page: Any, testid: str) -> bool:
    return page.get_by_test_id(testid).count() > 0


def _confirmed(op: OperatorSocket, start: int, match: Callable[[dict[str, Any]], bool], timeout: float = 8.0) -> bool:
    try:
        op.wait(match, start, timeout)
        return True
    except TimeoutError:
        return False


def _background_dialogs(stack: Any, op: OperatorSocket) -> None:
    """Two more open dialogs (one answered) and a closed one, so the list looks lived in."""
    closed = VisitorSocket(stack, "cart.html", "Your cart | Parley Demo Shop", user_agent=SAFARI_MAC)
    ack = closed.message("The Guji arrived this morning, thank you! Smells amazing.")
    op.message("Lovely to hear! Enjoy, and tell us how it brews.", ack["dialog_id"])
    op.request({"type": "close", "dialog_id": ack["dialog_id"]}, lambda f: f.get("type") == "dialog")
    closed.close()

    pause = VisitorSocket(stack, "pricing.html", "Coffee subscriptions | Parley Demo Shop",
                          referrer="https://www.google.com/", user_agent=FIREFOX_WINDOWS)
    ack = pause.message("Hello, can I pause my Regular subscription for August? We're away the whole month.")
    op.message("Hi! Yes: tell me the dates and I'll skip those deliveries for you. Nothing is charged while "
               "it's paused.", ack["dialog_id"])
    pause.close()

    swiss = VisitorSocket(stack, "product.html", "Ethiopia Guji, natural process | Parley Demo Shop",
                          referrer="https://duckduckgo.com/", user_agent=SAFARI_MAC)
    swiss.message("Do you ship to Switzerland? I'd like to order before Friday.")
    swiss.close()


def _mug_photo(browser: Any) -> bytes:
    """A product photo to send: the shop's own mug drawing, rendered to PNG."""
    page = browser.new_page(viewport={"width": 480, "height": 360})
    try:
        page.set_content('<body style="margin:0">' + (Path(__file__).parent / "shop/img/mug-blue.svg").read_text()
                         + "</body>")
        return page.screenshot(type="png")
    finally:
        page.close()


def _widget_says(shop: Any, text: str) -> None:
    box = shop.get_by_test_id("parley-input")
    box.fill(text)
    box.press("Enter")
    shop.locator('[data-testid="parley-message"][data-seq]').filter(has_text=text).first.wait_for(timeout=WAIT * 1000)


def _console_replies(console: Any, shop: Any, text: str) -> None:
    box = console.get_by_test_id("reply-input")
    box.fill(text)
    box.press("Enter")
    shop.locator('[data-testid="parley-message"][data-author="operator"]').filter(
        has_text=text[:40]).first.wait_for(timeout=WAIT * 1000)


def _sign_in(console: Any, stack: Any) -> None:
    console.goto(stack.console_url)
    console.get_by_test_id("login-email").fill(stack.operator_email)
    console.get_by_test_id("login-password").fill(stack.operator_password)
    console.get_by_test_id("login-submit").click()


def _by_protocol(step: str) -> None:
    print(f"screenshots: the console offers no way to {step}; done over the websocket protocol", file=sys.stderr)


def _send_photo(console: Any, op: OperatorSocket, dialog_id: str, data: bytes, name: str) -> None:
    start = len(op.frames)
    if _present(console, "attach-input"):
        console.get_by_test_id("attach-input").set_input_files(
            files=[{"name": name, "mimeType": "image/png", "buffer": data}])
        if _confirmed(op, start, lambda f: f.get("type") == "message"
                      and (f["message"].get("file") or {}).get("name") == name):
            return
    _by_protocol("attach a file")
    op.message("", dialog_id, file=op.upload(data, name, "image/png", dialog_id))


def _add_tags(console: Any, op: OperatorSocket, dialog_id: str, tags: list[str]) -> None:
    for tag in tags:
        start = len(op.frames)

        def has_tag(f: dict[str, Any], tag: str = tag) -> bool:
            return (f.get("type") == "dialog" and f["dialog"].get("dialog_id") == dialog_id
                    and tag in f["dialog"].get("tags", []))
        if _present(console, "tag-input"):
            field = console.get_by_test_id("tag-input")
            field.fill(tag)
            field.press("Enter")
            if _confirmed(op, start, has_tag):
                continue
        _by_protocol(f"add the tag {tag!r}")
        op.request({"type": "tag_add", "dialog_id": dialog_id, "tag": tag}, has_tag)


def _add_note(console: Any, op: OperatorSocket, dialog_id: str, text: str) -> None:
    start = len(op.frames)
    def is_note(f: dict[str, Any]) -> bool:
        return bool(f.get("type") == "message" and f["message"].get("note") and f["message"].get("text") == text)

    if _present(console, "mode-note"):
        console.get_by_test_id("mode-note").click()
        box = console.get_by_test_id("reply-input")
        box.fill(text)
        box.press("Enter")
        if _confirmed(op, start, is_note):
            if _present(console, "mode-reply"):
                console.get_by_test_id("mode-reply").click()
            return
    _by_protocol("write a note")
    op.message(text, dialog_id, note=True)


def _fill_card(console: Any, op: OperatorSocket, visitor_id: str, name: str, email: str) -> None:
    start = len(op.frames)

    def has(field: str, value: str) -> Callable[[dict[str, Any]], bool]:
        return lambda f: (f.get("type") == "visitor" and f["visitor"].get("visitor_id") == visitor_id
                          and f["visitor"].get(field) == value)

    for field, value, testid in (("name", name, "card-name"), ("email", email, "card-email")):
        if _present(console, testid):
            box = console.get_by_test_id(testid)
            box.fill(value)
            box.press("Enter")
            if _present(console, "card-save"):
                console.get_by_test_id("card-save").click()
            if _confirmed(op, start, has(field, value)):
                continue
        _by_protocol(f"edit the visitor's {field}")
        op.request({"type": "visitor_update", "visitor_id": visitor_id, field: value}, has(field, value))


def _demo(stack: Any, browser: Any, out_dir: Path) -> dict[str, Path]:
    op = OperatorSocket(stack)
    try:
        _background_dialogs(stack, op)

        phone = browser.new_context(**PHONE)
        shop = phone.new_page()
        shop.goto(stack.shop_url.rstrip("/") + "/index.html")
        shop.wait_for_load_state("networkidle")
        shop.goto(stack.shop_url.rstrip("/") + "/mug.html")
        shop.get_by_test_id("parley-launcher").click()
        first = "Hi! Does the blue ceramic mug fit in a dishwasher?"
        start = len(op.frames)
        _widget_says(shop, first)
        arrived = op.wait(lambda f: f.get("type") == "message" and f["message"].get("text") == first, start)
        dialog_id, visitor_id = arrived["message"]["dialog_id"], arrived["dialog"]["visitor_id"]

        console = browser.new_context(**DESKTOP).new_page()
        _sign_in(console, stack)
        console.get_by_test_id("dialog-row").filter(has_text="dishwasher").first.click()
        console.get_by_test_id("reply-input").wait_for(timeout=WAIT * 1000)
        _console_replies(console, shop, "Hi! Yes, it's dishwasher-safe: the glaze is fired at 1,240 °C, so it "
                                         "won't fade. It fits the top rack too, it's 9.5 cm tall.")
        _widget_says(shop, "Great! Microwave-safe as well? I'd like two as a gift for my sister.")
        _send_photo(console, op, dialog_id, _mug_photo(browser), "blue-mug-daylight.png")
        shop.locator('[data-testid="parley-message"][data-author="operator"] img').first.wait_for(timeout=WAIT * 1000)
        _console_replies(console, shop, "Here's one in daylight, so you can see the glaze.")
        _console_replies(console, shop, "Microwave-safe too. We can gift-wrap both for free this week; "
                                         "want me to add a card with a message?")
        _widget_says(shop, "Yes please! I'm Jane, jane.doe@example.com if you need to reach me.")
        _console_replies(console, shop, "Thanks, Jane! Gift wrap and a card it is. Order by Thursday and "
                                         "they'll arrive before the weekend.")
        _add_tags(console, op, dialog_id, ["pre-sale", "mugs"])
        _fill_card(console, op, visitor_id, "Jane Doe", "jane.doe@example.com")
        _add_note(console, op, dialog_id, "Gift wrap + card for 2 blue mugs: tell packing when the order "
                                          "comes in. Offer the espresso cups if she asks for more gift ideas.")

        out_dir.mkdir(parents=True, exist_ok=True)
        shots = {"console": out_dir / "console.png", "widget-mobile": out_dir / "widget-mobile.png"}
        console.get_by_test_id("feed-message").filter(has_text="tell packing").first.wait_for(timeout=WAIT * 1000)
        _settle(console)
        console.screenshot(path=str(shots["console"]), animations="disabled")
        _settle(shop)
        shop.screenshot(path=str(shots["widget-mobile"]), animations="disabled")
        phone.close()
        console.context.close()
        return shots
    finally:
        op.close()


def _settle(page: Any) -> None:
    """Fonts and images loaded, nothing focused (no caret, no virtual keyboard), each message log
    scrolled to its end (as a user reading the latest)."""
    page.evaluate("document.fonts.ready")
    page.wait_for_load_state("networkidle")
    page.evaluate("""() => {
        for (let a = document.activeElement; a; a = a.shadowRoot && a.shadowRoot.activeElement) if (a.blur) a.blur();
        const roots = [document, ...[...document.querySelectorAll('*')].filter(e => e.shadowRoot).map(e => e.shadowRoot)];
        for (const r of roots) for (const log of r.querySelectorAll('[role=log]'))
            for (let e = log; e && e.nodeType === 1; e = e.parentNode)
                if (e.scrollHeight > e.clientHeight + 4 && /(auto|scroll)/.test(getComputedStyle(e).overflowY)) {
                    e.scrollTop = e.scrollHeight; break;
                }
    }""")


def main(out_dir: Path = OUT, stack: Any = None, browser: Any = None) -> dict[str, Path]:
    """Makes both screenshots in ``out_dir``; starts a local stack and a Chromium unless given
    (a running Playwright browser, e.g. a test's)."""
    if stack is None:
        from infra.local.stack import LocalStack

        with LocalStack() as started:
            return main(out_dir, started, browser)
    if browser is not None:
        return _demo(stack, browser, Path(out_dir))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            return _demo(stack, browser, Path(out_dir))
        finally:
            browser.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python3 dev.py screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to save the PNGs (default {OUT.relative_to(ROOT)})")
    arguments = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit("screenshots need Debian's chromium: apt-get install chromium")
    for path in main(arguments.out).values():
        print(path)
