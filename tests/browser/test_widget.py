"""The widget in a real headless Chromium (Debian's), against the local stack: files, notes'
seq gaps, closed dialogs, page info; and the README's screenshots script.

The operator side speaks the websocket protocol directly (``infra/local/screenshots.py``'s
``OperatorSocket``), so these tests check the widget against the protocol, not against the console.
"""
from __future__ import annotations

import json
import struct
import time
import urllib.request
import uuid
import zlib

import pytest

from infra.local.screenshots import OperatorSocket

pytestmark = pytest.mark.usefixtures("someone_online")  # else the widget offers the offline form



STORED = '[data-testid="parley-message"][data-seq]'
MAX_FILE = 2_097_152




def png(width: int = 40, height: int = 30, rgb: tuple[int, int, int] = (43, 89, 195)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


class Widget:
    """A shop page with the widget open; records the frames the widget sends and receives."""

    def __init__(self, browser, stack, path: str = "mug.html", **context_options) -> None:
        self.stack = stack
        self.context = browser.new_context(**context_options)
        self.page = self.context.new_page()
        self.sent: list[dict] = []
        self.received: list[str] = []
        self.page.on("websocket", self._watch)
        self.page.goto(self.url(path))
        self.page.get_by_test_id("parley-launcher").click()

    def url(self, path: str) -> str:
        return self.stack.shop_url.rstrip("/") + "/" + path

    def _watch(self, ws) -> None:
        ws.on("framesent", lambda payload: self.sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: self.received.append(payload))

    def say(self, text: str) -> None:
        """Sends a text and waits until the server stored it (the message gets its seq)."""
        self.page.get_by_test_id("parley-input").fill(text)
        self.page.get_by_test_id("parley-input").press("Enter")
        self.page.locator(STORED).filter(has_text=text).first.wait_for()

    def attach(self, name: str, mime: str, data: bytes) -> None:
        self.page.get_by_test_id("parley-attach").set_input_files(
            files=[{"name": name, "mimeType": mime, "buffer": data}])

    def status(self, text: str) -> str:
        status = self.page.get_by_test_id("parley-status")
        status.filter(has_text=text).wait_for()
        return status.inner_text()

    def sent_of(self, kind: str) -> list[dict]:
        return [frame for frame in self.sent if frame.get("type") == kind]

    def close(self) -> None:
        self.context.close()


def arrived(operator: OperatorSocket, start: int, match) -> dict:
    """The next `message` frame the operator gets whose message matches."""
    return operator.wait(lambda f: f.get("type") == "message" and match(f["message"]), start)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


def test_a_visitor_attaches_a_png_the_widget_shows_it_and_the_operator_gets_a_working_link(stack, browser, operator):
    widget = Widget(browser, stack)
    name, data = f"photo-{uuid.uuid4().hex[:6]}.png", png(40, 30)
    start = len(operator.frames)
    widget.attach(name, "image/png", data)

    thumb = widget.page.locator(STORED).locator("img")
    thumb.first.wait_for()
    assert thumb.first.evaluate("img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])") == [40, 30]
    link = widget.page.locator(STORED).get_by_test_id("parley-file").first
    assert link.inner_text() == f"{name} ({len(data)} B)"
    assert link.get_attribute("target") == "_blank" and link.get_attribute("rel") == "noopener"
    assert link.get_attribute("download") == name
    assert fetch(link.get_attribute("href")) == data

    message = arrived(operator, start, lambda m: (m.get("file") or {}).get("name") == name)["message"]
    file = message["file"]
    assert message["author"]["kind"] == "visitor" and message["text"] == ""
    assert file["image"] is True and file["content_type"] == "image/png" and file["size"] == len(data)
    assert file["url"].startswith("http") and fetch(file["url"]) == data
    uploads = widget.sent_of("upload")
    assert len(uploads) == 1 and uploads[0]["size"] == len(data) and uploads[0]["content_type"] == "image/png"
    files = [f for f in widget.sent_of("message") if f.get("file")]
    assert {f["client_id"] for f in files} == {message["client_id"]}  # retries, if any, reuse the client_id
    assert files[0]["text"] == "" and set(files[0]["file"]) == {"key", "name"}
    widget.close()


def test_a_file_message_waits_in_the_outbox_across_a_reload_and_is_stored_once(stack, browser, operator):
    """The upload succeeds but its message never reaches the server (the socket swallows it); after a
    reload the widget sends it again from localStorage, same client_id, and it is stored once."""
    context = browser.new_context()
    page = context.new_page()
    held: list[dict] = []
    hold = [True]

    def socket(route) -> None:
        server = route.connect_to_server()

        def from_page(raw) -> None:
            frame = json.loads(raw)
            if hold[0] and frame.get("type") == "message" and frame.get("file"):
                held.append(frame)
            else:
                server.send(raw)
        route.on_message(from_page)

    page.route_web_socket(lambda url: True, socket)
    page.goto(stack.shop_url.rstrip("/") + "/mug.html")
    page.get_by_test_id("parley-launcher").click()
    page.get_by_test_id("parley-input").fill("Here is the chip I mentioned:")
    page.get_by_test_id("parley-input").press("Enter")
    page.locator(STORED).first.wait_for()
    name, data = f"chip-{uuid.uuid4().hex[:6]}.png", png(12, 12, (200, 40, 40))
    page.get_by_test_id("parley-attach").set_input_files(files=[{"name": name, "mimeType": "image/png", "buffer": data}])
    page.wait_for_function("name => (localStorage.getItem('parley:demo:outbox') || '').includes(name)", arg=name)
    pending = page.get_by_test_id("parley-message").filter(has_text=name)
    assert pending.count() == 1 and pending.get_attribute("data-seq") is None
    assert "Sending" in pending.inner_text()

    hold[0] = False
    start = len(operator.frames)
    page.reload()
    page.get_by_test_id("parley-launcher").click()
    stored = page.locator(STORED).filter(has_text=name)
    stored.first.locator("img").wait_for()
    message = arrived(operator, start, lambda m: (m.get("file") or {}).get("name") == name)["message"]
    assert held and message["client_id"] == held[0]["client_id"]
    assert fetch(message["file"]["url"]) == data
    page.locator(STORED).filter(has_text="chip I mentioned").first.wait_for()
    assert stored.count() == 1 and page.get_by_test_id("parley-message").filter(has_text=name).count() == 1
    assert page.evaluate("localStorage.getItem('parley:demo:outbox')") is None
    history = operator.request({"type": "history", "dialog_id": message["dialog_id"], "after_seq": 0},
                               lambda f: f.get("type") == "history" and f.get("dialog_id") == message["dialog_id"])
    assert [m["client_id"] for m in history["messages"]].count(message["client_id"]) == 1
    context.close()


def test_a_file_over_2_mb_is_refused_before_any_upload(stack, browser):
    widget = Widget(browser, stack)
    posts: list[str] = []
    widget.page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    widget.attach("photo.png", "image/png", b"\x89PNG" + b"\0" * (MAX_FILE + 1 - 4))
    assert widget.status("larger than 2 MB") == "photo.png is larger than 2 MB."
    widget.say("after the refused file")  # a later round trip: anything the refusal sent is in by now
    assert widget.sent_of("upload") == []
    assert not [f for f in widget.sent_of("message") if f.get("file")]
    assert not [url for url in posts if "/api/visitor/session" not in url], posts
    assert widget.page.locator(STORED).count() == 1
    widget.close()


@pytest.mark.parametrize("name,mime", [("setup.exe", "application/x-msdownload"), ("page.html", "text/html"),
                                       ("no-type", "")])
def test_a_file_type_outside_the_allowlist_is_refused(stack, browser, name, mime):
    widget = Widget(browser, stack)
    widget.attach(name, mime, b"MZ\x90\x00 not really a program")
    assert widget.status("can't be sent").startswith(name + " can't be sent")
    widget.say("after the refused type")
    assert widget.sent_of("upload") == []
    assert not [f for f in widget.sent_of("message") if f.get("file")]
    widget.close()


def test_a_file_name_with_markup_shows_as_typed_and_nothing_runs(stack, browser, operator):
    widget = Widget(browser, stack)
    name = "<img src=x onerror=window.pwned=1>.png"
    start = len(operator.frames)
    widget.attach(name, "image/png", png(8, 8))
    link = widget.page.locator(STORED).get_by_test_id("parley-file").filter(has_text="onerror")
    link.first.wait_for()
    assert link.first.inner_text().startswith(name)
    assert arrived(operator, start, lambda m: (m.get("file") or {}).get("name") == name)["message"]["file"]["image"]
    widget.page.locator(STORED).locator("img").first.evaluate("img => img.decode()")
    assert widget.page.locator("img[src='x']").count() == 0
    assert widget.page.evaluate("window.pwned") is None
    widget.close()


def test_s3_refusing_an_upload_is_shown_and_nothing_is_sent(stack, browser):
    widget = Widget(browser, stack)
    own = (stack.shop_url.rstrip("/"), stack.parley_url)

    def refuse(route) -> None:
        if route.request.method != "POST":
            return route.continue_()
        route.fulfill(status=400, content_type="application/xml", body=(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>EntityTooLarge</Code>"
            "<Message>Your proposed upload exceeds the maximum allowed size</Message></Error>"))

    widget.page.route(lambda url: not url.startswith(own), refuse)  # only the storage service
    widget.attach("invoice.pdf", "application/pdf", b"%PDF-1.4 a tiny pdf")
    status = widget.status("Could not upload")
    assert status == "Could not upload invoice.pdf: Your proposed upload exceeds the maximum allowed size"
    assert len(widget.sent_of("upload")) == 1
    widget.say("after the refused upload")
    assert not [f for f in widget.sent_of("message") if f.get("file")]
    widget.close()


def test_operators_notes_never_reach_the_widget_and_their_seq_gaps_do_not_loop(stack, browser, operator):
    widget = Widget(browser, stack)
    start = len(operator.frames)
    widget.say("Is the grinder good for espresso?")
    dialog_id = arrived(operator, start, lambda m: m["text"] == "Is the grinder good for espresso?")["message"]["dialog_id"]
    operator.message("internal: check the burr stock", dialog_id, note=True)
    operator.message("internal: second note, another gap", dialog_id, note=True)
    operator.message("Yes, it goes fine enough for espresso.", dialog_id)
    operator.message("Anything else I can help with?", dialog_id)
    widget.page.locator(STORED).filter(has_text="Anything else").first.wait_for()
    widget.say("No, thanks!")

    shown = widget.page.locator(STORED).all_inner_texts()
    order = ["grinder good", "goes fine", "Anything else", "No, thanks"]
    assert [next(i for i, text in enumerate(shown) if part in text) for part in order] == [0, 1, 2, 3], shown
    assert len(shown) == 4 and not [t for t in shown if "internal" in t]
    assert not [raw for raw in widget.received if "internal:" in raw or '"note"' in raw]
    assert len(widget.sent_of("resume")) <= 3, widget.sent_of("resume")  # connect, at most one per gapped message
    widget.close()


def test_a_closed_dialog_says_so_and_the_next_message_starts_a_new_one_below_the_old(stack, browser, operator):
    widget = Widget(browser, stack)
    start = len(operator.frames)
    widget.say("First question: do the mugs stack?")
    first = arrived(operator, start, lambda m: m["text"].startswith("First question"))["message"]
    operator.message("They do, two high.", first["dialog_id"])
    widget.page.locator(STORED).filter(has_text="two high").first.wait_for()
    operator.request({"type": "close", "dialog_id": first["dialog_id"]},
                     lambda f: f.get("type") == "dialog" and f["dialog"]["dialog_id"] == first["dialog_id"])

    line = widget.page.get_by_test_id("parley-closed")
    line.wait_for()
    assert line.inner_text() == "This conversation was closed. Write again any time."
    # A reload still shows the closed conversation, and says it is closed.
    widget.page.reload()
    widget.page.get_by_test_id("parley-launcher").click()
    widget.page.locator(STORED).filter(has_text="two high").first.wait_for()
    line.wait_for()
    start = len(operator.frames)
    widget.say("Second question, days later: gift wrap?")
    second = arrived(operator, start, lambda m: m["text"].startswith("Second question"))["message"]
    assert second["dialog_id"] != first["dialog_id"]

    divider = widget.page.get_by_test_id("parley-divider")
    divider.wait_for()
    old = widget.page.locator(STORED).filter(has_text="do the mugs stack")
    reply = widget.page.locator(STORED).filter(has_text="two high")
    new = widget.page.locator(STORED).filter(has_text="gift wrap")
    assert old.count() == reply.count() == new.count() == 1 and divider.count() == 1
    assert old.is_visible() and reply.is_visible() and line.is_visible()
    tops = [loc.bounding_box()["y"] for loc in (old, reply, line, divider, new)]
    assert tops == sorted(tops), tops
    operator.message("Yes, free this week.", second["dialog_id"])
    widget.page.locator(STORED).filter(has_text="free this week").first.wait_for()
    assert widget.page.locator(STORED).count() == 4
    widget.close()


def test_the_session_records_the_page_and_counts_one_visit_per_session(stack, browser, operator):
    context = browser.new_context()
    page = context.new_page()
    shop = stack.shop_url.rstrip("/")

    def load(action) -> dict:
        with page.expect_response(lambda r: r.url.endswith("/api/visitor/session")) as answer:
            action()
        assert answer.value.ok
        return {"body": answer.value.request.post_data_json, "reply": answer.value.json()}

    first = load(lambda: page.goto(shop + "/mug.html", referer="https://www.google.com/"))
    assert first["body"]["page"] == {"url": shop + "/mug.html", "title": "Blue ceramic mug, 350 ml | Parley Demo Shop",
                                     "referrer": "https://www.google.com/"}
    visitor_id = first["reply"]["visitor_id"]
    card = operator.visitor(visitor_id)["visitor"]
    assert card["current_page"]["url"] == shop + "/mug.html"
    assert card["current_page"]["title"] == "Blue ceramic mug, 350 ml | Parley Demo Shop"
    assert card["visits"] == 1
    assert card["first_referrer"] == "https://www.google.com/"

    again = load(page.reload)
    assert again["reply"]["visitor_id"] == visitor_id
    assert operator.visitor(visitor_id)["visitor"]["visits"] == 1

    moved = load(lambda: page.goto(shop + "/cart.html"))
    assert moved["reply"]["visitor_id"] == visitor_id
    card = operator.visitor(visitor_id)["visitor"]
    assert card["current_page"]["url"] == shop + "/cart.html" and card["visits"] == 1

    later = context.new_page()  # another tab within 30 minutes is the same visit (the server decides)
    page = later
    load(lambda: later.goto(shop + "/index.html"))
    assert operator.visitor(visitor_id)["visitor"]["visits"] == 1
    context.close()


def test_the_session_page_is_cut_to_2048_characters(stack, browser, operator):
    context = browser.new_context()
    page = context.new_page()
    shop = stack.shop_url.rstrip("/")
    long_url = shop + "/mug.html?q=" + "x" * 3000
    with page.expect_response(lambda r: r.url.endswith("/api/visitor/session")) as answer:
        page.goto(long_url)
    body = answer.value.request.post_data_json
    assert answer.value.ok and body["page"]["url"] == long_url[:2048]
    card = operator.visitor(answer.value.json()["visitor_id"])["visitor"]
    assert card["current_page"]["url"] == long_url[:2048]
    context.close()


LONG_TITLE = "マグカップ" * 410  # 2050 characters, 3 bytes each in UTF-8


def _long_page(browser, stack):
    """A shop page whose URL, title and referrer are all over 2048 characters; the session answer."""
    context = browser.new_context()
    shop = stack.shop_url.rstrip("/")
    url, referrer = shop + "/mug.html?q=" + "x" * 2100, "https://www.example.com/?" + "r" * 2100
    context.add_init_script(f"Object.defineProperty(document, 'title', {{get: () => {json.dumps(LONG_TITLE)}}})")
    page = context.new_page()
    with page.expect_response(lambda r: r.url.endswith("/api/visitor/session")) as answer:
        page.goto(url, referer=referrer)
    return context, page, answer.value, url


def test_the_widget_cuts_page_info_at_2048_characters_and_chats_whatever_the_server_says(stack, browser):
    context, page, answer, _ = _long_page(browser, stack)
    body = answer.request.post_data_json
    assert [len(body["page"][k]) for k in ("url", "title", "referrer")] == [2048, 2048, 2048]
    page.get_by_test_id("parley-launcher").click()
    page.get_by_test_id("parley-input").fill("Sent from a page with a very long title")
    page.get_by_test_id("parley-input").press("Enter")
    page.locator(STORED).first.wait_for()  # stored: the chat works even if the page info was refused
    context.close()


def test_the_server_records_a_page_with_every_field_at_2048_characters(stack, browser, operator):
    context, _, answer, url = _long_page(browser, stack)
    try:
        assert answer.ok, f"the session was refused: {answer.status} {answer.text()}"
        card = operator.visitor(answer.json()["visitor_id"])["visitor"]
        assert card["current_page"] == {"url": url[:2048], "title": LONG_TITLE[:2048]}
    finally:
        context.close()


def test_the_attach_button_fits_a_375px_phone(stack, browser):
    widget = Widget(browser, stack, "pricing.html", viewport={"width": 375, "height": 667}, is_mobile=True,
                    has_touch=True)
    boxes = [widget.page.get_by_test_id(testid).bounding_box()
             for testid in ("parley-attach-button", "parley-input", "parley-send")]
    for box in boxes:
        assert box is not None and box["width"] >= 40 and box["height"] >= 40
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert box["y"] >= 0 and box["y"] + box["height"] <= 667
    attach, message, send = boxes
    assert attach["x"] + attach["width"] <= message["x"] and message["x"] + message["width"] <= send["x"]
    assert widget.page.get_by_role("button", name="Attach a file").count() == 1
    widget.close()


def test_screenshots_script_saves_both_pngs_at_their_sizes(stack, browser, tmp_path):
    from infra.local import screenshots

    began = time.monotonic()
    shots = screenshots.main(tmp_path, stack, browser)
    print(f"screenshots took {time.monotonic() - began:.1f} s")
    assert png_size(shots["console"].read_bytes()) == (1280, 800)
    assert png_size(shots["widget-mobile"].read_bytes()) == (780, 1688)
