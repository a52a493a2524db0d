"""The widget's side of email continuity (docs/protocol.md), in a real headless Chromium (Debian's)
against the local stack: the note that answers also go by email once the visitor's email is known,
the `read` frames that tell the server what the visitor has seen (only with the panel open on a
visible page: the rest is emailed), and the `#parley-chat` link of those emails.

The operator side speaks the websocket protocol directly (``infra/local/screenshots.py``). Some
tests play a server frame into the widget's real socket (Playwright's ``route_web_socket``) to pin
down what the widget does with it, whatever the server would send.
"""
from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from infra.local.screenshots import OperatorSocket
from tests.browser import test_widget_proactive as proactive

pytestmark = pytest.mark.usefixtures("someone_online")  # else the widget offers the offline form

STORED = proactive.STORED
NOTE = "parley-email-note"
PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
HOSTILE = '<img src=x onerror="window.pwned=1">@example.com'

# Emulates the tab going to the background (or back): the widget reads document.visibilityState.
HIDE = """hidden => {
  for (const [k, v] of [['visibilityState', hidden ? 'hidden' : 'visible'], ['hidden', hidden]])
    Object.defineProperty(document, k, {configurable: true, get: () => v});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


class Shop(proactive.Shop):
    """The proactive tests' shop page; with ``playable``, its socket passes through this process,
    so a test can play a server frame into it (``play``)."""

    def __init__(self, browser, stack, path: str = "mug.html", playable: bool = False, **context: Any) -> None:
        self.routes: list[Any] = []
        super().__init__(browser, stack, path, socket=self._route if playable else None, **context)

    def _route(self, route) -> None:
        route.connect_to_server()
        self.routes.append(route)

    def ready(self, after: int = 0) -> None:
        """Waits until the widget is connected (it has had its history) after `after` frames."""
        self.wait(lambda: any(f.get("type") == "history" for f in self.received[after:]), "the widget's history")

    def reads(self) -> list[int]:
        return [f["seq"] for f in self.sent_of("read")]

    def session(self) -> dict:
        """The last session answer."""
        return [s["reply"] for s in self.sessions if s["reply"]][-1]

    def play(self, frame: dict) -> None:
        self.routes[-1].send(json.dumps(frame))

    def say(self, text: str) -> None:
        self.page.get_by_test_id("parley-input").fill(text)
        self.page.get_by_test_id("parley-input").press("Enter")
        self.page.locator(STORED).filter(has_text=text).first.wait_for()

    def shows(self, text: str) -> None:
        self.page.locator(STORED).filter(has_text=text).first.wait_for(state="attached")

    @property
    def note(self):
        return self.page.get_by_test_id(NOTE)


def dialog_of(operator: OperatorSocket, text: str, start: int = 0) -> str:
    """The dialog of the visitor's message `text`, as the operator got it."""
    return operator.wait(lambda f: f.get("type") == "message" and f["message"]["text"] == text, start)["message"]["dialog_id"]


# ---------------------------------------------------------------------------------------------


def test_an_email_written_in_the_chat_brings_the_note_at_once_and_the_session_keeps_it_after_a_reload(stack, browser):
    shop = Shop(browser, stack)
    shop.launcher.click()
    shop.say("Hello, do you have this mug in blue?")
    assert shop.note.is_hidden()  # no email yet

    email = f"ann-{uuid.uuid4().hex[:8]}@example.com"
    shop.say(f"You can write to me at {email}, thanks")
    shop.note.wait_for()  # the server captured it and sent an `email` frame
    assert any(f.get("type") == "email" and f.get("email") == email for f in shop.received)
    assert shop.note.inner_text() == f"We'll also reply by email to {email}: no need to wait on this page."

    shop.page.reload()
    shop.launcher.click()
    shop.note.wait_for()
    assert shop.session()["email"] == email
    assert email in shop.note.inner_text()
    shop.close()


def test_the_note_waits_for_a_conversation_shows_an_email_only_as_text_and_leaves_the_phone_composer_free(stack, browser):
    shop = Shop(browser, stack, playable=True, **PHONE)
    shop.ready()
    assert shop.session().get("email") is None  # a new visitor
    shop.launcher.click()
    shop.play({"type": "email", "email": HOSTILE})
    shop.barrier()
    assert shop.note.is_hidden()  # nothing written yet: nothing to be answered by email

    shop.say("Is the blue one dishwasher safe?")
    shop.note.wait_for()
    assert shop.note.inner_text() == f"We'll also reply by email to {HOSTILE}: no need to wait on this page."
    assert shop.page.evaluate("window.pwned") is None
    assert shop.page.locator("parley-chat img[src='x']").count() == 0

    # On a 375x667 phone the note sits above the composer, inside the screen, covering nothing.
    note, composer = shop.note.bounding_box(), shop.page.locator("parley-chat form").bounding_box()
    assert note["y"] >= 0 and note["y"] + note["height"] <= composer["y"] + 0.5
    assert composer["y"] + composer["height"] <= 667 + 0.5
    assert shop.page.get_by_test_id("parley-input").is_visible()

    shop.play({"type": "email", "email": None})  # an operator cleared it
    shop.note.wait_for(state="hidden")
    shop.close()


def test_the_note_speaks_the_widgets_language(stack, browser):
    shop = Shop(browser, stack, playable=True, locale="de-DE")
    shop.ready()
    shop.launcher.click()
    shop.say("Hallo!")
    shop.play({"type": "email", "email": "jan@example.de"})
    shop.note.wait_for()
    assert shop.note.inner_text() == "Wir antworten auch per E-Mail an jan@example.de: Sie müssen hier nicht warten."
    shop.close()


def test_read_is_sent_only_while_the_panel_is_open_on_a_visible_page_and_again_after_a_reconnect(stack, browser, operator):
    shop = Shop(browser, stack, playable=True)
    shop.ready()
    shop.launcher.click()
    text = f"Can I pick it up in store? {uuid.uuid4().hex[:6]}"
    shop.say(text)
    dialog_id = dialog_of(operator, text)

    first = operator.message("Yes, any day after 10.", dialog_id)["seq"]
    shop.shows("any day after 10")
    shop.wait(lambda: first in shop.reads(), "read up to the first answer")

    # The panel closed: answers arrive, nothing is read.
    shop.page.get_by_test_id("parley-input").press("Escape")
    second = operator.message("We also deliver.", dialog_id)["seq"]
    shop.shows("We also deliver")
    shop.barrier()
    assert max(shop.reads()) == first
    shop.launcher.click()
    shop.wait(lambda: second in shop.reads(), "read once the panel opens")

    # The page in the background with the panel open: nothing is read until it is visible again.
    shop.page.evaluate(HIDE, True)
    third = operator.message("Shall I reserve one?", dialog_id)["seq"]
    shop.shows("Shall I reserve one")
    shop.barrier()
    assert max(shop.reads()) == second
    assert shop.page.locator("[data-testid=parley-launcher] .b").inner_text() == "1"  # unseen
    shop.page.evaluate(HIDE, False)
    shop.wait(lambda: third in shop.reads(), "read once the page is visible")
    assert shop.reads() == sorted(set(shop.reads()))  # only when it grows

    # A new socket: the widget tells the server again what was read.
    received = len(shop.received)
    shop.routes[-1].close()
    shop.ready(received)
    shop.wait(lambda: shop.reads().count(third) == 2, "read again after the reconnect")
    shop.close()


def test_the_link_in_the_emails_opens_the_panel(stack, browser):
    shop = Shop(browser, stack, path="mug.html#parley-chat")
    shop.page.get_by_test_id("parley-input").wait_for()
    assert shop.launcher.get_attribute("aria-expanded") == "true"
    shop.close()
