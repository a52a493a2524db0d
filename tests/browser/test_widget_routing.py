"""The widget's side of routing (docs/protocol.md "Routing: presence, capacity, queue, answer
time, transfers, offline, bot, ratings"), in a real headless Chromium (Debian's) against the local
stack: the availability line and the leave-a-message form, the queue line, the bot's label and
"Talk to a person", and rating a closed conversation.

The operators speak the websocket protocol directly (``infra/local/screenshots.py``). Who can
answer is set through their presence and capacity; every test puts back what it changed (the
stack is shared by the whole session). A few tests play a server frame into the widget's real
socket (Playwright's ``route_web_socket``) to pin down what the widget does with it, whatever
the server would decide; those can also mute some of the server's frames or hold some of the
widget's back.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from infra.local.screenshots import OperatorSocket, VisitorSocket
from tests.browser import test_widget_email as email
from tests.browser import test_widget_proactive as proactive

STORED = proactive.STORED
WAIT = proactive.WAIT
HOSTILE = "<img src=x onerror=alert(1)>"
PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True}
AVAILABLE = {"online": "We usually reply in a minute", "busy": "Our team is busy: you may wait a little"}
AWAY = "We're away: leave a message, we'll email you"


class Shop(email.Shop):
    """The email tests' playable shop page. ``mute``: types of server frames that never reach the
    page (only played ones do); ``hold``: types of the widget's frames kept from the server while
    ``holding`` is true (in ``kept``)."""

    def __init__(self, browser, stack, path: str = "mug.html", mute: tuple[str, ...] = (),
                 hold: tuple[str, ...] = (), **context: Any) -> None:
        self.mute, self.hold, self.holding, self.kept = set(mute), set(hold), True, []
        self.alerts: list[str] = []
        super().__init__(browser, stack, path, playable=True, **context)
        self.page.on("dialog", lambda d: (self.alerts.append(d.message), d.dismiss()))

    def _route(self, route) -> None:
        server = route.connect_to_server()

        def from_server(raw) -> None:
            if json.loads(raw).get("type") not in self.mute:
                route.send(raw)

        def from_page(raw) -> None:
            if self.holding and json.loads(raw).get("type") in self.hold:
                self.kept.append(json.loads(raw))
            else:
                server.send(raw)

        server.on_message(from_server)
        route.on_message(from_page)
        self.routes.append(route)

    def by(self, testid: str):
        return self.page.get_by_test_id(testid)

    @property
    def leave(self):
        return self.by("parley-leave")

    @property
    def composer(self):
        return self.by("parley-input")

    def opened(self) -> None:
        """Opens the panel once connected; returns after the server answered the availability
        the opening asked for (unless availability frames are muted)."""
        self.ready()
        start = len(self.received)
        self.launcher.click()
        if "availability" not in self.mute:
            self.wait(lambda: any(f.get("type") == "availability" for f in self.received[start:]),
                      "the availability answer")

    def availability(self) -> dict:
        return [f for f in self.received if f.get("type") == "availability"][-1]

    def line(self, testid: str, text: str) -> str:
        """The element's text once it contains `text`."""
        found = self.by(testid).filter(has_text=text)
        found.wait_for()
        return found.inner_text()

    def leave_message(self, mail: str, text: str, name: str = "") -> None:
        self.leave.locator("input[type=email]").fill(mail)
        self.leave.locator("input:not([type])").fill(name)
        self.leave.locator("textarea").fill(text)
        self.leave.get_by_role("button").click()

    def wait_long(self, check, what: str, seconds: float) -> Any:
        deadline = time.monotonic() + seconds
        while not (result := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"never happened: {what}")
            self.page.wait_for_timeout(100)
        return result

    def no_markup_ran(self) -> None:
        assert self.page.locator("parley-chat img[src='x']").count() == 0
        assert self.alerts == []


# ---- the operators' side -------------------------------------------------------------------

def team(op: OperatorSocket, frame: dict, holds=lambda f: True) -> dict:
    return op.request(frame, lambda f: f.get("type") == "team" and holds(f))


def me(op: OperatorSocket, frame: dict) -> dict:
    return next(o for o in frame["operators"] if o["operator_id"] == op.operator["operator_id"])


def set_presence(op: OperatorSocket, status: str) -> None:
    team(op, {"type": "presence", "status": status}, lambda f: me(op, f)["presence"] == status)


@contextmanager
def everyone(stack, status: str) -> Iterator[tuple[OperatorSocket, OperatorSocket]]:
    """Both of the demo site's operators (Ann, Ben) connected with `status`; online again after."""
    ann, ben = OperatorSocket(stack), OperatorSocket(stack, stack.operator2_email)
    try:
        for op in (ann, ben):
            set_presence(op, status)
        yield ann, ben
    finally:
        for op in (ann, ben):
            set_presence(op, "online")
            op.close()


def dialog_frame(op: OperatorSocket, dialog_id: str, start: int, holds=lambda d: True) -> dict:
    return op.wait(lambda f: f.get("type") in ("dialog", "message") and f.get("dialog", {}).get("dialog_id") == dialog_id
                   and holds(f["dialog"]), start)["dialog"]


@contextmanager
def faq_bot(op: OperatorSocket, bot_name: str) -> Iterator[tuple[str, str]]:
    """The site's bot on, with one FAQ template; yields (a question it answers, the answer)."""
    word = "zorb" + uuid.uuid4().hex[:6]
    answer = f"Our {word} mugs ship within 2 days, worldwide."
    saved = op.request({"type": "template_save", "shortcut": word, "text": answer, "faq": True,
                        "keywords": f"{word} shipping delivery"}, lambda f: f.get("type") == "templates")
    template_id = next(t["template_id"] for t in saved["templates"] if t["shortcut"] == word)
    try:
        with proactive.settings(op, bot_enabled=True, bot_name=bot_name):
            yield f"{word} shipping delivery?", answer
    finally:
        op.request({"type": "template_delete", "template_id": template_id}, lambda f: f.get("type") == "templates")


def loaded(op: OperatorSocket) -> int:
    """The operator's load once it is at least 1."""
    deadline = time.monotonic() + WAIT
    while (load := me(op, team(op, {"type": "team"}))["load"]) < 1:
        if time.monotonic() > deadline:
            raise AssertionError("the operator never got a dialog")
        time.sleep(0.2)
    return load


# ---- availability and the leave-a-message form ----------------------------------------------

def test_with_nobody_online_the_panel_is_a_leave_a_message_form_and_with_someone_online_the_chat(stack, browser):
    """Nobody online: both operators offline (a console that was just closed still counts as
    online for a grace period, so going offline is how a test gets there at once)."""
    with everyone(stack, "offline") as (ann, _ben):
        shop = Shop(browser, stack)
        shop.opened()
        found = shop.availability()
        # asked on opening, unless the panel opened before the socket did (the answer to
        # `resume` carries it then)
        assert len(shop.sent_of("availability")) <= 1
        assert found["available"] is False and found["reason"] == "offline", found
        shop.leave.wait_for()
        assert shop.composer.is_hidden()
        assert shop.by("parley-availability").inner_text() == AWAY
        assert shop.leave.locator("input[type=email]").get_attribute("placeholder") == "Email"
        assert shop.leave.locator("input:not([type])").get_attribute("placeholder") == "Name (optional)"
        # Closing and opening again within 30 s asks nothing new.
        shop.page.get_by_role("button", name="Close chat").click()
        shop.launcher.click()
        shop.barrier()
        assert len(shop.sent_of("availability")) <= 1  # at most one request per 30 s

        set_presence(ann, "online")
        shop.page.reload()
        shop.opened()
        shop.composer.wait_for()
        assert shop.leave.is_hidden()
        found = shop.availability()
        assert found["available"] is True and found["reason"] in AVAILABLE, found
        assert shop.by("parley-availability").inner_text() == AVAILABLE[found["reason"]]
        shop.close()


def test_a_left_message_needs_a_valid_email_then_the_visitor_sees_it_the_auto_reply_and_the_email_line(stack, browser, operator):
    with everyone(stack, "away"):
        shop = Shop(browser, stack)
        shop.opened()
        assert shop.availability()["reason"] == "away"
        field = shop.leave.locator("input[type=email]")
        text = f"Do you restock the blue mug? {uuid.uuid4().hex[:6]}"
        for wrong in ("jane-at-example.com", "jane@example", ""):
            shop.leave_message(wrong, text)
            assert field.evaluate("e => e.validity.valid") is False, wrong
        shop.leave_message("jane@example.com", "   ")  # no message: nothing goes either
        shop.barrier()
        assert shop.sent_of("leave_message") == []

        mail = f"jane-{uuid.uuid4().hex[:6]}@example.com"
        start = len(operator.frames)
        shop.leave_message(mail, text, name="Jane")
        shop.shows(text)
        sent = shop.sent_of("leave_message")
        assert len(sent) == 1 and re.fullmatch(r"[\w-]{8,64}", sent[0]["client_id"])
        assert {k: v for k, v in sent[0].items() if k != "client_id"} == {
            "type": "leave_message", "name": "Jane", "email": mail, "text": text}
        ack = next(f for f in shop.received if f.get("type") == "ack" and f.get("client_id") == sent[0]["client_id"])

        # The conversation view: the message, the auto-reply (labelled automatic), the email line.
        reply = shop.page.locator(STORED + '[data-author="bot"]')
        reply.first.wait_for()
        assert "Automatic assistant" in reply.first.locator(".n").inner_text()
        assert shop.note.inner_text() == f"We'll also reply by email to {mail}: no need to wait on this page."
        shop.composer.wait_for()
        assert shop.leave.is_hidden()
        assert shop.by("parley-handoff").is_hidden()  # the auto-reply is the bot's, but a person will answer
        mine = shop.page.locator(STORED).filter(has_text=text)
        tops = [mine.bounding_box()["y"], reply.first.bounding_box()["y"]]
        assert tops == sorted(tops)

        # The operators got the dialog: the visitor's message and the bot's answer.
        got = operator.wait(lambda f: f.get("type") == "message" and f["message"]["text"] == text, start)
        assert got["message"]["dialog_id"] == ack["dialog_id"] and got["message"]["author"]["kind"] == "visitor"
        operator.wait(lambda f: f.get("type") == "message" and f["message"]["dialog_id"] == ack["dialog_id"]
                 and f["message"]["author"]["kind"] == "bot", start)

        # A reload shows the conversation, not the form, though nobody is online.
        shop.page.reload()
        shop.opened()
        shop.shows(text)
        assert shop.composer.is_visible() and shop.leave.is_hidden()
        shop.close()


def test_a_left_message_stays_pending_until_acked_shows_a_refusal_and_survives_a_reload(stack, browser):
    with everyone(stack, "offline") as (ann, _ben):
        shop = Shop(browser, stack, hold=("leave_message",))
        shop.opened()
        shop.leave.wait_for()
        # An error about something else is not the form's.
        shop.play({"type": "error", "code": "invalid", "message": "not about the form"})
        shop.play({"type": "typing", "author": {"kind": "operator", "name": "Ann"}})
        shop.page.locator("parley-chat .ty").filter(has_text="Ann").wait_for()
        assert shop.leave.locator(".er").text_content() == ""
        shop.leave_message("jo@example.com", "Held back")
        shop.wait(lambda: shop.kept, "the left message, held")
        button = shop.leave.get_by_role("button")
        assert button.inner_text() == "Sending…" and button.is_disabled()
        # The server refuses it: the refusal shows next to the form, which can be sent again.
        shop.play({"type": "error", "code": "invalid", "message": f"refused {HOSTILE}",
                   "client_id": shop.kept[0]["client_id"]})
        shop.leave.get_by_role("alert").filter(has_text="refused").wait_for()
        assert shop.leave.get_by_role("alert").inner_text() == f"refused {HOSTILE}"
        shop.no_markup_ran()
        assert button.is_enabled() and shop.leave.locator("textarea").input_value() == "Held back"

        text = f"Second try {uuid.uuid4().hex[:6]}"
        shop.leave.locator("textarea").fill(text)
        button.click()
        shop.wait(lambda: len(shop.kept) == 2, "the second try, held")
        second = shop.kept[1]
        assert second["client_id"] != shop.kept[0]["client_id"]
        shop.page.wait_for_timeout(500)
        assert shop.leave.locator(".er").text_content() == ""  # the refusal was for the first try

        # A reload: the widget sends it again, same client_id, and the server stores it once.
        shop.holding = False
        start = len(ann.frames)
        shop.page.reload()
        shop.shows(text)
        resent = shop.sent_of("leave_message")
        assert resent and {f["client_id"] for f in resent} == {second["client_id"]}
        got = ann.wait(lambda f: f.get("type") == "message" and f["message"]["text"] == text, start)
        assert got["message"]["client_id"] == second["client_id"]
        shop.page.wait_for_timeout(500)
        ann.drain()
        assert len([f for f in ann.frames[start:] if f.get("type") == "message" and f["message"]["text"] == text]) == 1
        shop.close()


def test_a_hostile_name_and_text_in_a_left_message_are_shown_as_text(stack, browser):
    with everyone(stack, "away") as (ann, _ben):
        shop = Shop(browser, stack)
        shop.opened()
        start = len(ann.frames)
        shop.leave_message("mallory@example.com", HOSTILE, name=HOSTILE)
        shop.page.locator(STORED + '[data-author="visitor"]').first.wait_for()
        assert shop.page.locator(STORED + '[data-author="visitor"] .t').first.inner_text() == HOSTILE
        got = ann.wait(lambda f: f.get("type") == "message" and f["message"]["text"] == HOSTILE, start)
        assert got["dialog"]["visitor_name"] == HOSTILE
        shop.page.locator(STORED + '[data-author="bot"]').first.wait_for()
        shop.no_markup_ran()
        shop.close()


def test_an_open_conversation_keeps_its_composer_when_nobody_is_online_and_gets_the_form_once_closed(stack, browser, operator):
    set_presence(operator, "online")
    shop = Shop(browser, stack)
    shop.opened()
    start = len(operator.frames)
    text = f"Is the mug microwave safe? {uuid.uuid4().hex[:6]}"
    shop.say(text)
    dialog_id = email.dialog_of(operator, text, start)
    with everyone(stack, "offline") as (ann, _ben):
        shop.page.reload()
        shop.opened()
        shop.shows(text)
        assert shop.availability()["available"] is False
        assert shop.composer.is_visible() and shop.leave.is_hidden()
        assert shop.by("parley-availability").inner_text() == AWAY
        ann.request({"type": "close", "dialog_id": dialog_id},
                    lambda f: f.get("type") == "dialog" and f["dialog"]["dialog_id"] == dialog_id)
        shop.by("parley-closed").wait_for()
        shop.leave.wait_for()  # closed, and nobody online: the form
        assert shop.composer.is_hidden()
        assert shop.by("parley-rating").is_visible()
    shop.close()


def test_the_form_fits_a_360px_phone_and_speaks_the_widgets_language(stack, browser):
    shop = Shop(browser, stack, mute=("availability",), locale="de-DE", **PHONE)
    shop.opened()
    shop.play({"type": "availability", "available": False, "reason": "hours", "queue": {"length": 0, "wait_seconds": None}})
    shop.leave.wait_for()
    assert shop.by("parley-availability").inner_text() == "Wir sind nicht da: Schreiben Sie uns, wir antworten per E-Mail"
    assert shop.leave.locator("input[type=email]").get_attribute("placeholder") == "E-Mail"
    assert shop.leave.get_by_role("button").inner_text() == "Senden"
    for part in (shop.leave.locator("input[type=email]"), shop.leave.locator("input:not([type])"),
                 shop.leave.locator("textarea"), shop.leave.get_by_role("button")):
        box = part.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= 640, box
    shop.play({"type": "availability", "available": True, "reason": "busy", "queue": {"length": 4, "wait_seconds": 300}})
    shop.composer.wait_for()
    assert shop.by("parley-availability").inner_text() == "Alle sind beschäftigt: bitte etwas Geduld"
    shop.close()


# ---- the queue -----------------------------------------------------------------------------

def test_a_queued_visitor_sees_the_position_and_then_who_will_answer(stack, browser, operator):
    set_presence(operator, "online")
    ben = OperatorSocket(stack, stack.operator2_email)
    filler = None
    try:
        set_presence(ben, "offline")
        ann = me(operator, team(operator, {"type": "team"}))
        if ann["load"] == 0:  # a dialog for Ann, so that a cap of 1 fills her
            filler = VisitorSocket(stack, "mug.html", "Mug")
            filler.message("Filling Ann's only slot")
        load = loaded(operator)
        cap = min(20, load)  # Ann is full: every new dialog queues
        team(operator, {"type": "cap_set", "operator_id": operator.operator["operator_id"], "cap": cap},
             lambda f: me(operator, f)["cap"] == cap)

        shop = Shop(browser, stack)
        shop.opened()
        assert shop.availability()["reason"] == "busy"
        assert shop.by("parley-availability").inner_text() == AVAILABLE["busy"]
        start = len(operator.frames)
        text = f"Where is my order? {uuid.uuid4().hex[:6]}"
        shop.say(text)
        dialog_id = email.dialog_of(operator, text, start)
        try:
            queued = shop.wait(lambda: next((f for f in reversed(shop.received) if f.get("type") == "queue"
                                             and f.get("position") is not None), None), "a queue position")
        except AssertionError:
            seen = [f for f in shop.received if f.get("type") in ("queue", "availability", "ack", "message")]
            raise AssertionError(f"no queue position; the widget got {seen}; "
                                 f"dialog {[f['dialog'] for f in operator.frames if f.get('dialog', {}).get('dialog_id') == dialog_id][-1:]}; "
                                 f"{team(operator, {'type': 'team'})}") from None
        assert queued["dialog_id"] == dialog_id
        want = f"You're number {queued['position']} in line"
        if queued["wait_seconds"] is not None:
            want += f" · about {-(-queued['wait_seconds'] // 60) or 1} min"
        assert shop.line("parley-queue", "in line") == want

        # Ann takes it herself (a cap bounds what others hand her), and the visitor is told.
        operator.request({"type": "assign", "dialog_id": dialog_id, "operator_id": operator.operator["operator_id"]},
                         lambda f: f.get("type") == "dialog" and f["dialog"]["dialog_id"] == dialog_id)
        assert shop.line("parley-queue", "will answer you") == f"{operator.operator['name']} will answer you"
        operator.message("Hi! Let me look it up.", dialog_id)
        shop.shows("Let me look it up")
        shop.by("parley-queue").wait_for(state="hidden")
        shop.close()
    finally:
        team(operator, {"type": "cap_set", "operator_id": operator.operator["operator_id"], "cap": None})
        set_presence(ben, "online")
        ben.close()
        if filler:
            filler.close()


def test_the_queue_line_never_invents_an_estimate_is_polled_while_queued_and_shows_a_name_as_text(stack, browser):
    shop = Shop(browser, stack, mute=("queue",))
    shop.opened()
    shop.say(f"Anyone there? {uuid.uuid4().hex[:6]}")
    dialog_id = next(f["dialog_id"] for f in shop.received if f.get("type") == "ack")
    polls = len(shop.sent_of("queue"))
    shop.play({"type": "queue", "dialog_id": dialog_id, "position": 2, "wait_seconds": None, "operator": None})
    assert shop.line("parley-queue", "in line") == "You're number 2 in line"
    shop.play({"type": "queue", "dialog_id": "d_someone_else", "position": 9, "wait_seconds": 60, "operator": None})
    shop.play({"type": "queue", "dialog_id": dialog_id, "position": 1, "wait_seconds": 130, "operator": None})
    assert shop.line("parley-queue", "about") == "You're number 1 in line · about 3 min"
    # While queued (and visible) the widget asks every 20 s.
    shop.wait_long(lambda: len(shop.sent_of("queue")) > polls, "a queue poll", 26)
    assert shop.sent_of("queue")[-1] == {"type": "queue"}

    shop.play({"type": "queue", "dialog_id": dialog_id, "position": None, "wait_seconds": None,
               "operator": {"name": HOSTILE}})
    assert shop.line("parley-queue", "will answer you") == f"{HOSTILE} will answer you"
    shop.no_markup_ran()
    polls = len(shop.sent_of("queue"))
    shop.page.wait_for_timeout(21_000)  # no more polling once someone will answer
    assert len(shop.sent_of("queue")) == polls
    shop.close()


# ---- the bot -------------------------------------------------------------------------------

def test_the_bots_answers_are_labelled_and_talk_to_a_person_hands_over(stack, browser, operator):
    set_presence(operator, "online")
    with faq_bot(operator, HOSTILE) as (question, answer):
        shop = Shop(browser, stack)
        shop.opened()
        start = len(operator.frames)
        shop.say(question)
        bot = shop.page.locator(STORED + '[data-author="bot"]').filter(has_text=answer)
        bot.first.wait_for()
        assert bot.first.locator(".n").inner_text() == f"{HOSTILE} · Automatic assistant"
        assert "k" in bot.first.get_attribute("class").split()  # drawn apart from operators
        shop.no_markup_ran()
        person = shop.by("parley-handoff")
        person.wait_for()
        assert person.inner_text() == "Talk to a person"

        bots = shop.page.locator(STORED + '[data-author="bot"]').count()
        person.click()
        person.wait_for(state="hidden")
        assert shop.sent_of("handoff") == [{"type": "handoff"}]
        shop.wait(lambda: shop.page.locator(STORED + '[data-author="bot"]').count() > bots, "the bot's hand-off message")
        shop.wait(lambda: any(f.get("type") == "queue" for f in shop.received), "the queue after the hand-off")
        assert person.is_hidden()  # the bot spoke last, but it already handed over
        dialog_id = next(f["dialog_id"] for f in shop.received if f.get("type") == "ack")
        dialog_frame(operator, dialog_id, start, lambda d: d.get("bot") == "handed_off")
        shop.page.reload()
        shop.opened()
        shop.shows(answer)
        shop.barrier()
        assert person.is_hidden()
        shop.close()


# ---- ratings -------------------------------------------------------------------------------

def test_a_closed_conversation_asks_for_a_rating_once_and_a_new_message_hides_the_prompt(stack, browser, operator):
    set_presence(operator, "online")
    shop = Shop(browser, stack)
    shop.opened()
    start = len(operator.frames)
    text = f"Thanks, that's all {uuid.uuid4().hex[:6]}"
    shop.say(text)
    dialog_id = email.dialog_of(operator, text, start)
    operator.message("You're welcome!", dialog_id)
    operator.request({"type": "close", "dialog_id": dialog_id},
                     lambda f: f.get("type") == "dialog" and f["dialog"]["dialog_id"] == dialog_id)
    prompt = shop.by("parley-rating")
    prompt.wait_for()
    assert prompt.locator("p").inner_text() == "How was this chat?"

    shop.page.reload()  # not rated yet: asked again
    shop.opened()
    prompt.wait_for()
    good, bad = prompt.get_by_role("button", name="👍"), prompt.get_by_role("button", name="👎")
    good.click()
    bad.click()
    assert bad.get_attribute("aria-pressed") == "true" and good.get_attribute("aria-pressed") == "false"
    comment = f"Slow answer {HOSTILE}"
    prompt.locator("textarea").fill(comment)
    start = len(operator.frames)
    prompt.get_by_role("button", name="Send").click()
    assert shop.line("parley-rated", "Thanks") == "Thanks for your feedback"
    assert prompt.is_hidden()
    assert shop.sent_of("rate") == [{"type": "rate", "dialog_id": dialog_id, "score": "bad", "comment": comment}]
    rated = next(f for f in shop.received if f.get("type") == "rated")
    assert rated["dialog_id"] == dialog_id and rated["score"] == "bad"
    summary = dialog_frame(operator, dialog_id, start, lambda d: d.get("rating"))
    assert summary["rating"]["score"] == "bad" and summary["rating"]["comment"] == comment
    shop.no_markup_ran()

    shop.page.reload()  # rated in this browser: not asked again
    shop.opened()
    shop.by("parley-closed").wait_for()
    shop.barrier()
    assert prompt.is_hidden()

    # The next conversation, closed too: asked; a new message from the visitor hides the prompt.
    start = len(operator.frames)
    again = f"One more thing {uuid.uuid4().hex[:6]}"
    shop.say(again)
    second = email.dialog_of(operator, again, start)
    operator.request({"type": "close", "dialog_id": second},
                     lambda f: f.get("type") == "dialog" and f["dialog"]["dialog_id"] == second)
    prompt.wait_for()
    prompt.get_by_role("button", name="👍").click()
    shop.composer.fill("Actually, a third question")
    shop.composer.press("Enter")
    prompt.wait_for(state="hidden")
    shop.shows("Actually, a third question")
    assert len(shop.sent_of("rate")) == 1
    shop.close()
