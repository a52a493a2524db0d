"""The widget's side of tracking and proactive greetings (docs/protocol.md "Tracking and proactive
frames"), in a real headless Chromium (Debian's) against the local stack: its language, the page
API (``Parley.track``/``identify``, ``ParleyQueue``), emails typed into the page, greetings (opened,
badged, kept across a reload, answered), check-ins, blocked visitors and switching to a verified
profile.

The operator side speaks the websocket protocol directly (``infra/local/screenshots.py``). A few
tests play a server frame into the widget's real socket (Playwright's ``route_web_socket``) to
pin down what the widget does with it, whatever the server's triggers would decide. Every test
uses a fresh browser context, so a fresh visitor: the triggers made here fire only for events
named after the test, and every site setting changed is put back.
"""
from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import pytest

from infra.local.screenshots import OperatorSocket, Socket, http_json

pytestmark = pytest.mark.usefixtures("someone_online")  # else the widget offers the offline form

STORED = '[data-testid="parley-message"][data-seq]'
SESSION = "/api/visitor/session"
WAIT = 20.0  # seconds for a slow machine to get somewhere: a bound, not a timed assertion
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


class Shop:
    """A demo shop page in a fresh browser context (a new visitor); records the frames the widget
    sends and receives and the session answers it gets."""

    def __init__(self, browser, stack, path: str = "mug.html", init_script: str | None = None,
                 hold_session: bool = False, socket: Callable | None = None, **context_options: Any) -> None:
        self.stack = stack
        self.context = browser.new_context(**context_options)
        if init_script:
            self.context.add_init_script(init_script)
        self.page = self.context.new_page()
        self.sent: list[dict] = []
        self.received: list[dict] = []
        self.sessions: list[dict] = []
        self.warnings: list[str] = []
        self.held: list[Any] = []
        self.page.on("websocket", self._watch)
        self.page.on("response", self._session)
        self.page.on("console", lambda m: self.warnings.append(m.text) if m.type == "warning" else None)
        if hold_session:  # the session request waits until release()
            self.page.route("**" + SESSION, lambda route: self.held.append(route))
        if socket:  # a handler for Playwright's route_web_socket
            self.page.route_web_socket(lambda url: True, socket)
        self.page.goto(self.url(path))

    def url(self, path: str) -> str:
        return self.stack.shop_url.rstrip("/") + "/" + path

    def _watch(self, ws) -> None:
        ws.on("framesent", lambda payload: self.sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: self.received.append(json.loads(payload)))

    def _session(self, response) -> None:
        if response.url.endswith(SESSION) and response.request.method == "POST":
            self.sessions.append({"status": response.status, "body": response.request.post_data_json,
                                  "reply": response.json() if response.ok else None})

    def release(self) -> None:
        for route in self.held:
            route.continue_()
        self.page.unroute("**" + SESSION)

    def visitor_id(self) -> str:
        self.wait(lambda: any(s["reply"] for s in self.sessions), "a session")
        return [s for s in self.sessions if s["reply"]][-1]["reply"]["visitor_id"]

    def wait(self, check: Callable[[], Any], what: str) -> Any:
        """Lets the page run until check() holds (Playwright delivers events meanwhile)."""
        deadline = time.monotonic() + WAIT
        while not (result := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"never happened: {what}")
            self.page.wait_for_timeout(50)
        return result

    def sent_of(self, kind: str) -> list[dict]:
        return [frame for frame in self.sent if frame.get("type") == kind]

    def ready(self) -> None:
        """Waits until the widget is connected (it has had its history)."""
        self.wait(lambda: any(f.get("type") == "history" for f in self.received), "the widget's history")

    def barrier(self) -> None:
        """A frame sent after everything the widget sent so far: once it is out, so is all before it."""
        name = "barrier_" + uuid.uuid4().hex[:8]
        self.page.evaluate("name => Parley.track(name)", name)
        self.wait(lambda: any(f.get("name") == name for f in self.sent_of("track")), "the barrier frame")

    def track(self, name: str, props: dict | None = None) -> None:
        self.page.evaluate("([name, props]) => Parley.track(name, props)", [name, props])

    @property
    def launcher(self):
        return self.page.get_by_test_id("parley-launcher")

    @property
    def badge(self):
        return self.page.locator("[data-testid=parley-launcher] .b")

    def is_open(self) -> bool:
        return self.launcher.get_attribute("aria-expanded") == "true" and self.page.get_by_test_id(
            "parley-input").is_visible()

    def close(self) -> None:
        self.context.close()


def card(operator: OperatorSocket, visitor_id: str, holds: Callable[[dict], Any], what: str) -> dict:
    """The visitor's card once it shows what the test expects (the widget's frames are async)."""
    deadline = time.monotonic() + WAIT
    while True:
        found = operator.visitor(visitor_id)["visitor"]
        if holds(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"the card never showed {what}: {found}")
        time.sleep(0.2)


def proactive(operator: OperatorSocket, frame: dict) -> dict:
    return operator.request(frame, lambda f: f.get("type") == "proactive")


@contextmanager
def settings(operator: OperatorSocket, **changed: Any):
    """Site settings changed for one test, then put back."""
    before = proactive(operator, {"type": "proactive"})["settings"]
    proactive(operator, {"type": "settings_save", "settings": changed})
    try:
        yield
    finally:
        proactive(operator, {"type": "settings_save", "settings": {k: before[k] for k in changed}})


@contextmanager
def trigger(operator: OperatorSocket, text: str, match: list[dict], *, sender: dict | None = None,
            open_desktop: bool = True, open_mobile: bool = False):
    """A message trigger for one test (deleted after); yields its id."""
    name = "widget test " + uuid.uuid4().hex[:8]
    doc = {"name": name, "enabled": True, "match": {"all": match}, "holdout_percent": 0,
           "action": {"kind": "message", "text": text, "sender": sender or {"kind": "site"},
                      "open_desktop": open_desktop, "open_mobile": open_mobile}}
    saved = proactive(operator, {"type": "trigger_save", "trigger": doc})
    trigger_id = next(t["trigger_id"] for t in saved["triggers"] if t["name"] == name)
    try:
        yield trigger_id
    finally:
        proactive(operator, {"type": "trigger_delete", "trigger_id": trigger_id})


def on_event(name: str) -> list[dict]:
    return [{"field": "event", "key": name, "op": "gte", "value": 1}]


def event_name() -> str:
    return "widget_test_" + uuid.uuid4().hex[:10]


# ---- language ------------------------------------------------------------------------------

@pytest.mark.parametrize("locale,launcher,send,placeholder,hello", [
    ("de-DE", "Chat öffnen", "Senden", "Nachricht schreiben…", "Hallo! Fragen Sie uns gern"),
    ("ja-JP", "チャットを開く", "送信", "メッセージを入力…", "こんにちは！"),
    ("es-MX", "Abrir chat", "Enviar", "Escribe un mensaje…", "¡Hola!"),
    ("pt-BR", "Open chat", "Send", "Write a message…", "Hi! Ask us anything."),  # not one we have: English
])
def test_with_the_site_on_auto_the_widget_speaks_the_browsers_language(stack, browser, locale, launcher, send,
                                                                       placeholder, hello):
    shop = Shop(browser, stack, locale=locale)
    shop.page.get_by_role("button", name=launcher).click()
    shop.page.get_by_text(hello).wait_for()
    assert shop.page.get_by_test_id("parley-send").inner_text() == send
    assert shop.page.get_by_test_id("parley-input").get_attribute("placeholder") == placeholder
    shop.visitor_id()
    assert shop.sessions[0]["body"]["language"] == locale
    assert shop.sessions[0]["reply"]["site"]["language"] == "auto"
    shop.close()


def test_the_sites_language_wins_over_the_browsers_and_reaches_every_text(stack, browser, operator):
    with settings(operator, language="ru"):
        shop = Shop(browser, stack, locale="de-DE")
        shop.visitor_id()
        shop.page.get_by_role("button", name="Открыть чат").click()
        assert shop.page.get_by_test_id("parley-send").inner_text() == "Отправить"
        assert shop.page.get_by_role("button", name="Закрыть чат").count() == 1
        assert shop.page.get_by_role("button", name="Прикрепить файл").count() == 1
        shop.page.get_by_test_id("parley-attach").set_input_files(
            files=[{"name": "big.png", "mimeType": "image/png", "buffer": b"\x89PNG" + b"\0" * 2_097_150}])
        status = shop.page.get_by_test_id("parley-status")
        status.filter(has_text="МБ").wait_for()
        assert status.inner_text() == "big.png больше 2 МБ."
        shop.close()


def test_a_site_language_of_japanese_is_used_even_for_an_english_browser(stack, browser, operator):
    with settings(operator, language="ja"):
        shop = Shop(browser, stack, locale="en-US")
        shop.visitor_id()
        shop.page.get_by_role("button", name="チャットを開く").click()
        shop.page.get_by_test_id("parley-input").fill("こんにちは")
        shop.page.get_by_test_id("parley-input").press("Enter")
        shop.page.locator(STORED).first.wait_for()
        assert shop.page.get_by_test_id("parley-send").inner_text() == "送信"
        shop.close()


# ---- the page API --------------------------------------------------------------------------

def test_calls_made_before_the_chat_connects_are_sent_once_it_does(stack, browser, operator):
    shop = Shop(browser, stack, hold_session=True)
    shop.page.wait_for_function("() => window.Parley && Parley.track")
    event = event_name()
    shop.page.evaluate("""event => {
        Parley.track(event, {value: 120, currency: 'EUR'});
        Parley.identify({name: 'Early Jane', email: 'early.jane@example.com'});
        Parley.track('not a valid name!');
        Parley.track('fine_name', ['props', 'must', 'be', 'an', 'object']);
        Parley.identify('jane@example.com');
    }""", event)
    warned = shop.wait(lambda: [w for w in shop.warnings if w.startswith("Parley")], "warnings")
    assert shop.sent == []  # nothing could go out: the session is still held
    shop.release()
    visitor_id = shop.visitor_id()
    found = card(operator, visitor_id, lambda c: c["name"] == "Early Jane" and event in (c.get("events") or {}),
                 "the early identify and track")
    assert found["email"] == "early.jane@example.com"
    assert found["events"][event]["count"] == 1
    shop.barrier()
    assert [f["name"] for f in shop.sent_of("track")][:-1] == [event]  # the bad calls were dropped
    assert len(warned) == 3, warned
    shop.close()


def test_a_parley_queue_set_before_the_script_loads_is_replayed_and_later_pushes_run(stack, browser, operator):
    event, later = event_name(), event_name()
    queued = [["identify", {"name": "Queued Jane"}], ["track", event, {"plan": "pro"}], ["open"],
              ["no_such_method", 1]]
    shop = Shop(browser, stack, init_script=f"window.ParleyQueue = {json.dumps(queued)};")
    shop.page.get_by_test_id("parley-input").wait_for()  # ['open'] opened the panel
    assert shop.is_open()
    visitor_id = shop.visitor_id()
    card(operator, visitor_id, lambda c: c["name"] == "Queued Jane" and event in (c.get("events") or {}),
         "the queued identify and track")
    shop.page.evaluate("later => window.ParleyQueue.push(['track', later], ['close'])", later)
    assert not shop.is_open()
    card(operator, visitor_id, lambda c: later in (c.get("events") or {}), "an event pushed after boot")
    shop.wait(lambda: any("no_such_method" in w for w in shop.warnings), "a warning about the unknown call")
    shop.close()


def test_keys_pressed_in_a_page_field_are_reported_as_typing_with_track(stack, browser):
    shop = Shop(browser, stack)
    shop.ready()
    shop.track("before_typing")
    shop.page.locator("#qty").press("3")
    shop.track("while_typing")
    shop.wait(lambda: len(shop.sent_of("track")) == 2, "two track frames")
    assert [(f["name"], f["typing"]) for f in shop.sent_of("track")] == [("before_typing", False),
                                                                        ("while_typing", True)]
    shop.close()


# ---- emails typed into the page ------------------------------------------------------------

FIELDS = """() => {
    const form = document.createElement('form');
    form.innerHTML = '<input id="news" type="text" placeholder="Newsletter">' +
        '<input id="mail" type="email"><input id="secret" type="password"><input id="other" type="text">';
    document.querySelector('main').append(form);
}"""


def test_an_email_typed_into_the_page_goes_onto_the_card_once(stack, browser, operator):
    shop = Shop(browser, stack)
    shop.ready()
    shop.page.evaluate(FIELDS)
    shop.page.locator("#secret").fill("secret.looks@like-an-email.com")
    shop.page.locator("#secret").press("Tab")
    shop.page.locator("#other").fill("not an email")
    shop.page.locator("#other").press("Tab")
    shop.page.locator("#news").fill("  jane.page@example.com ")
    shop.page.locator("#news").press("Tab")
    shop.page.locator("#mail").fill("Jane.Page@example.com")  # the same address again
    shop.page.locator("#mail").press("Tab")
    shop.barrier()
    assert shop.sent_of("identify") == [{"type": "identify", "email": "jane.page@example.com", "source": "page"}]
    card(operator, shop.visitor_id(), lambda c: c["email"] == "jane.page@example.com", "the page's email")
    shop.close()


def test_with_capture_emails_off_an_email_typed_into_the_page_is_not_sent(stack, browser, operator):
    with settings(operator, capture_emails=False):
        shop = Shop(browser, stack)
        shop.ready()
        assert shop.sessions[-1]["reply"]["site"]["capture_emails"] is False
        shop.page.evaluate(FIELDS)
        shop.page.locator("#mail").fill("private.jane@example.com")
        shop.page.locator("#mail").press("Tab")
        shop.barrier()
        assert shop.sent_of("identify") == []
        assert operator.visitor(shop.visitor_id())["visitor"]["email"] is None
        shop.close()


# ---- greetings -----------------------------------------------------------------------------

def test_a_greeting_opens_the_panel_on_a_desktop_stays_after_a_reload_and_becomes_the_dialogs_first_message(
        stack, browser, operator):
    event, text = event_name(), "Hi! The blue mug is back in stock. Any questions?"
    me = {"kind": "operator", "operator_id": operator.operator["operator_id"]}
    with trigger(operator, text, on_event(event), sender=me, open_desktop=True):
        shop = Shop(browser, stack)
        shop.ready()
        shop.track(event)
        greeting = shop.page.get_by_test_id("parley-greeting")
        shop.page.get_by_test_id("parley-greeting-text").wait_for()
        assert shop.page.get_by_test_id("parley-greeting-text").inner_text() == text
        assert operator.operator["name"] in greeting.inner_text()
        assert shop.is_open()

        shop.page.reload()  # shown again in the log, without opening the panel or a badge
        greeting.wait_for(state="attached")
        assert not shop.is_open() and shop.badge.is_hidden()
        shop.launcher.click()
        assert shop.page.get_by_test_id("parley-greeting-text").inner_text() == text

        start = len(operator.frames)
        shop.page.get_by_test_id("parley-input").fill("Is it dishwasher safe?")
        shop.page.get_by_test_id("parley-input").press("Enter")
        reply = operator.wait(lambda f: f.get("type") == "message" and f["message"]["text"] == "Is it dishwasher safe?",
                              start)["message"]
        history = operator.request({"type": "history", "dialog_id": reply["dialog_id"], "after_seq": 0},
                                   lambda f: f.get("type") == "history" and f.get("dialog_id") == reply["dialog_id"])
        assert [m["text"] for m in history["messages"]] == [text, "Is it dishwasher safe?"]

        # The widget now shows the greeting as the dialog's stored first message, once.
        greeting.wait_for(state="detached")
        stored = shop.page.locator(STORED)
        stored.filter(has_text=text).first.wait_for()
        assert stored.filter(has_text=text).count() == 1
        tops = [stored.filter(has_text=part).bounding_box()["y"] for part in (text, "dishwasher")]
        assert tops == sorted(tops)
        shown = next(f for f in shop.received if f.get("type") == "greeting")
        assert {f.get("greeting_id") for f in shop.sent_of("message")} == {shown["greeting_id"]}
        shop.close()


def test_a_greeting_after_a_closed_conversation_starts_the_next_one_below_it(stack, browser, operator):
    event, text = event_name(), "Welcome back! Anything else about your order?"
    with trigger(operator, text, on_event(event)):
        shop = Shop(browser, stack)
        shop.ready()
        shop.launcher.click()
        start = len(operator.frames)
        shop.page.get_by_test_id("parley-input").fill("Do you ship to Norway?")  # no key pressed: not typing
        shop.page.get_by_test_id("parley-send").click()
        first = operator.wait(lambda f: f.get("type") == "message" and f["message"]["text"] == "Do you ship to Norway?",
                              start)["message"]
        operator.request({"type": "close", "dialog_id": first["dialog_id"]},
                         lambda f: f.get("type") == "dialog" and f["dialog"]["dialog_id"] == first["dialog_id"])
        shop.page.get_by_test_id("parley-closed").wait_for()

        shop.track(event)
        shop.page.get_by_test_id("parley-greeting-text").wait_for()
        start = len(operator.frames)
        shop.page.get_by_test_id("parley-input").fill("Yes: can I change the address?")
        shop.page.get_by_test_id("parley-input").press("Enter")
        reply = operator.wait(lambda f: f.get("type") == "message" and f["message"]["text"].startswith("Yes: can I"),
                              start)["message"]
        assert reply["dialog_id"] != first["dialog_id"]
        history = operator.request({"type": "history", "dialog_id": reply["dialog_id"], "after_seq": 0},
                                   lambda f: f.get("type") == "history" and f.get("dialog_id") == reply["dialog_id"])
        assert [m["text"] for m in history["messages"]] == [text, "Yes: can I change the address?"]

        shop.page.get_by_test_id("parley-greeting").wait_for(state="detached")
        stored = shop.page.locator(STORED)
        stored.filter(has_text=text).first.wait_for()
        parts = [stored.filter(has_text="Norway"), shop.page.get_by_test_id("parley-closed"),
                 shop.page.get_by_test_id("parley-divider"), stored.filter(has_text=text),
                 stored.filter(has_text="change the address")]
        assert [p.count() for p in parts] == [1, 1, 1, 1, 1]
        tops = [p.bounding_box()["y"] for p in parts]
        assert tops == sorted(tops), tops
        shop.close()


def test_a_greeting_that_should_not_open_the_panel_shows_a_badge(stack, browser, operator):
    event, text = event_name(), "Free shipping over €40 this week."
    with trigger(operator, text, on_event(event), open_desktop=False, open_mobile=True):
        shop = Shop(browser, stack)
        shop.ready()
        shop.track(event)
        shop.badge.filter(has_text="1").wait_for()
        assert not shop.is_open()
        assert shop.page.locator("parley-chat #u").inner_text() == "1 unread"
        shop.launcher.click()
        assert shop.page.get_by_test_id("parley-greeting-text").inner_text() == text
        assert shop.badge.is_hidden()
        shop.close()


@pytest.mark.parametrize("open_mobile", [False, True])
def test_on_a_phone_open_mobile_decides_whether_a_greeting_opens_the_panel(stack, browser, operator, open_mobile):
    event, text = event_name(), "Need help choosing a size?"
    with trigger(operator, text, on_event(event), open_desktop=True, open_mobile=open_mobile):
        shop = Shop(browser, stack, **PHONE)
        shop.ready()
        shop.track(event)
        shop.page.get_by_test_id("parley-greeting").wait_for(state="attached")
        if open_mobile:
            shop.page.get_by_test_id("parley-greeting-text").wait_for()
            assert shop.is_open()
        else:
            shop.badge.filter(has_text="1").wait_for()
            assert not shop.is_open()
        shop.close()


def test_a_time_condition_makes_the_widget_check_in_and_the_greeting_comes_then(stack, browser, operator):
    event, text = event_name(), "Still deciding? Ask us anything."
    with trigger(operator, text, on_event(event) + [{"field": "time_on_page", "op": "gte", "value": 3}]):
        shop = Shop(browser, stack)
        shop.ready()
        shop.track(event)
        shop.page.get_by_test_id("parley-greeting-text").wait_for()
        assert shop.page.get_by_test_id("parley-greeting-text").inner_text() == text
        assert [f["type"] for f in shop.received if f.get("type") in ("check_in", "greeting")][-1] == "greeting"
        assert any(f.get("type") == "check_in" for f in shop.received)
        assert shop.sent_of("check") and shop.sent_of("check")[-1] == {"type": "check", "typing": False}
        shop.close()


def test_an_answer_to_a_greeting_kept_in_the_outbox_across_a_reload_still_carries_it(stack, browser, operator):
    event, text = event_name(), "Want 10% off your first bag?"
    with trigger(operator, text, on_event(event)):
        hold = [True]
        held: list[dict] = []

        def socket(route) -> None:
            server = route.connect_to_server()

            def from_page(raw) -> None:
                frame = json.loads(raw)
                if hold[0] and frame.get("type") == "message":
                    held.append(frame)
                else:
                    server.send(raw)
            route.on_message(from_page)

        shop = Shop(browser, stack, socket=socket)
        shop.ready()
        shop.track(event)
        shop.page.get_by_test_id("parley-greeting-text").wait_for()
        shop.page.get_by_test_id("parley-input").fill("Yes please!")
        shop.page.get_by_test_id("parley-input").press("Enter")
        shop.wait(lambda: held, "the answer, held back")
        assert held[0]["greeting_id"]

        hold[0] = False
        start = len(operator.frames)
        shop.page.reload()
        # The page's frames pass through this process (the route): let them flow until it is stored.
        shop.page.locator(STORED).filter(has_text="Yes please!").first.wait_for(state="attached")
        reply = operator.wait(lambda f: f.get("type") == "message" and f["message"]["text"] == "Yes please!",
                              start)["message"]
        assert reply["client_id"] == held[0]["client_id"]
        history = operator.request({"type": "history", "dialog_id": reply["dialog_id"], "after_seq": 0},
                                   lambda f: f.get("type") == "history" and f.get("dialog_id") == reply["dialog_id"])
        assert [m["text"] for m in history["messages"]] == [text, "Yes please!"]
        shop.launcher.click()
        shop.page.get_by_test_id("parley-greeting").wait_for(state="detached")
        assert shop.page.locator(STORED).filter(has_text=text).count() == 1
        shop.close()


def _playable(browser, stack, **options: Any) -> tuple[Shop, Callable[[dict], None]]:
    """A shop page whose socket goes to the real server, and a function that plays a frame into
    the widget as if the server had sent it."""
    routes: list[Any] = []

    def socket(route) -> None:
        route.connect_to_server()
        routes.append(route)

    shop = Shop(browser, stack, socket=socket, **options)
    shop.ready()
    return shop, lambda frame: routes[-1].send(json.dumps(frame))


def test_a_repeated_greeting_is_shown_once_as_text_and_only_an_https_avatar_is_an_image(stack, browser):
    shop, play = _playable(browser, stack)
    hostile = 'Hello <img src=x onerror="window.pwned=1"> there'
    first = {"type": "greeting", "greeting_id": "g_test_1", "text": hostile, "open_desktop": False,
             "open_mobile": False, "author": {"kind": "site", "name": "Parley Demo Shop",
                                              "avatar": "http://example.com/a.png"}}
    play(first)
    play(first)  # the same greeting again: ignored
    play({"type": "typing", "author": {"kind": "operator", "name": "Ann"}})  # comes after both
    shop.page.locator("parley-chat .ty").filter(has_text="Ann").wait_for(state="attached")
    assert shop.page.get_by_test_id("parley-greeting").count() == 1
    assert shop.badge.inner_text() == "1"
    shop.launcher.click()
    assert shop.page.get_by_test_id("parley-greeting-text").inner_text() == hostile
    greeting = shop.page.get_by_test_id("parley-greeting")
    assert greeting.locator("img").count() == 0 and shop.page.evaluate("window.pwned") is None
    assert "Parley Demo Shop" in greeting.inner_text()

    play(first | {"greeting_id": "g_test_2", "text": "A second one",
                  "author": {"kind": "operator", "name": "Ann", "avatar": "https://www.gravatar.com/avatar/0?d=404"}})
    shop.page.get_by_test_id("parley-greeting-text").filter(has_text="A second one").wait_for()
    assert shop.page.get_by_test_id("parley-greeting").count() == 1  # it replaced the first
    assert greeting.locator("img").get_attribute("src") == "https://www.gravatar.com/avatar/0?d=404"
    shop.close()


def test_identified_with_a_token_switches_the_widget_to_that_profile(stack, browser):
    """The shop told Parley who this is (a verified id another browser already has): the widget
    becomes that visitor and shows that visitor's conversation."""
    shop_origin = stack.shop_url.rstrip("/")
    other = http_json(f"{stack.parley_url}{SESSION}", {"site_id": "demo"}, origin=shop_origin,
                      content_type="text/plain")
    phone = Socket(other["ws_url"], other["token"], origin=shop_origin)
    phone.request({"type": "resume", "after_seq": 0}, lambda f: f.get("type") == "history")
    phone.message("Written on my phone yesterday")
    phone.close()

    shop, play = _playable(browser, stack)
    first = shop.visitor_id()
    assert first != other["visitor_id"]
    shop.launcher.click()
    play({"type": "identified", "verified": True, "token": other["token"], "visitor_id": other["visitor_id"]})
    shop.page.locator(STORED).filter(has_text="Written on my phone yesterday").first.wait_for()
    assert shop.visitor_id() == other["visitor_id"]
    assert shop.sessions[-1]["body"]["token"] == other["token"]
    shop.page.reload()  # and stays that visitor
    shop.launcher.click()
    shop.page.locator(STORED).filter(has_text="Written on my phone yesterday").first.wait_for()
    assert shop.visitor_id() == other["visitor_id"]
    shop.close()


# ---- blocked -------------------------------------------------------------------------------

COUNT_SESSIONS = """window.__sessions = 0;
const realFetch = window.fetch;
window.fetch = (url, options) => { if (String(url).endsWith('/api/visitor/session')) window.__sessions++;
    return realFetch(url, options) };"""


def test_a_session_answered_blocked_removes_the_launcher_and_never_retries(stack, browser):
    context = browser.new_context()
    context.add_init_script(COUNT_SESSIONS)
    page = context.new_page()
    page.route("**" + SESSION, lambda route: route.fulfill(
        status=403, content_type="application/json", body='{"Code": "Blocked", "Message": "not available"}',
        headers={"Access-Control-Allow-Origin": stack.shop_url.rstrip("/")}))
    page.goto(stack.shop_url.rstrip("/") + "/mug.html")
    page.locator("parley-chat").wait_for(state="detached")
    assert page.get_by_test_id("parley-launcher").count() == 0
    assert page.evaluate("Parley.open(), dispatchEvent(new Event('online')), window.__sessions") == 1
    assert page.locator("parley-chat").count() == 0
    context.close()


def test_another_403_keeps_the_launcher_and_says_the_chat_is_unavailable(stack, browser):
    context = browser.new_context()
    page = context.new_page()
    page.route("**" + SESSION, lambda route: route.fulfill(
        status=403, content_type="application/json", body='{"Code": "Forbidden", "Message": "origin"}',
        headers={"Access-Control-Allow-Origin": stack.shop_url.rstrip("/")}))
    page.goto(stack.shop_url.rstrip("/") + "/mug.html")
    page.get_by_test_id("parley-launcher").click()
    page.get_by_test_id("parley-status").filter(has_text="unavailable").wait_for()
    assert page.get_by_test_id("parley-status").inner_text() == "Chat is unavailable on this page."
    context.close()


def test_a_visitor_an_operator_blocks_loses_the_chat_at_once_and_after_a_reload(stack, browser, operator):
    shop = Shop(browser, stack)
    shop.ready()
    visitor_id = shop.visitor_id()
    assert shop.launcher.is_visible()
    blocks = proactive(operator, {"type": "block_add", "block": {"kind": "visitor", "value": visitor_id,
                                                                "note": "widget test"}})["blocks"]
    block_id = next(b["block_id"] for b in blocks if b["value"] == visitor_id)
    try:
        shop.page.locator("parley-chat").wait_for(state="detached")  # its socket was closed; the session refused
        assert shop.sessions[-1]["status"] == 403
        shop.page.reload()
        shop.wait(lambda: len([s for s in shop.sessions if s["status"] == 403]) >= 2, "a refused session")
        shop.page.locator("parley-chat").wait_for(state="detached")
        assert shop.launcher.count() == 0
    finally:
        proactive(operator, {"type": "block_remove", "block_id": block_id})
    shop.close()
