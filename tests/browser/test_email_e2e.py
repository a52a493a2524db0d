"""Email continuity end to end on the local stack, in a real Chromium: the visitor gives their
email and leaves; the operator answers in the console; the answer arrives in the local mailbox
once; the visitor replies from the mailbox (real SMTP into the inlet); the reply shows in the
console and in the widget, once, without the quoted history. Prints the reply's lag from
"Send" in the mailbox to the message on the operator's screen (the issue's 2 s target): run with
-s to see it."""
from __future__ import annotations

import json
import os
import time
import urllib.request

import pytest

from infra.local.stack import LocalStack

WAIT = 30.0
ANSWER = "Size M is in stock: it ships tomorrow."
REPLY = "Great, please reserve one for me."


@pytest.fixture(scope="module")
def mail_stack():
    """A stack whose mirror waits 1 s after an answer and whose schedule runs every second."""
    env = {**os.environ, "PARLEY_MAIL_DELAY_SECONDS": "1", "PARLEY_SCHEDULE_SECONDS": "1"}
    with LocalStack(env=env) as stack:
        yield stack


def mailbox(stack) -> list[dict]:
    with urllib.request.urlopen(stack.info["mailbox_url"].rstrip("/") + "/messages", timeout=5) as response:
        return json.load(response)["messages"]


def until(check, what: str, page):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_answer_goes_by_email_and_the_reply_comes_back_into_the_chat(mail_stack, browser):
    stack = mail_stack
    shop_context = browser.new_context(viewport={"width": 390, "height": 800})
    shop = shop_context.new_page()
    shop.goto(stack.shop_url)
    shop.get_by_test_id("parley-launcher").click()
    box = shop.get_by_test_id("parley-input")
    box.fill("Is the blue mug in stock in M? Write to jane.doe@example.com")
    box.press("Enter")
    note = shop.get_by_test_id("parley-email-note")
    note.wait_for(timeout=WAIT * 1000)
    assert "jane.doe@example.com" in note.inner_text()  # told they need not wait on the page
    shop_state = shop_context.storage_state()
    shop_context.close()  # the visitor leaves

    console = browser.new_page(viewport={"width": 1400, "height": 900})
    console.goto(stack.console_url)
    console.get_by_test_id("login-email").fill(stack.operator_email)
    console.get_by_test_id("login-password").fill(stack.operator_password)
    console.get_by_test_id("login-submit").click()
    console.get_by_text("Is the blue mug in stock", exact=False).first.click()
    reply_box = console.get_by_test_id("reply-input")
    reply_box.fill(ANSWER)
    reply_box.press("Enter")

    emailed = until(lambda: [m for m in mailbox(stack) if ANSWER in m["text"]], "the answer in the mailbox", console)
    console.wait_for_timeout(3000)  # three more runs of the schedule: still one email
    assert len([m for m in mailbox(stack) if ANSWER in m["text"]]) == 1
    mail = emailed[0]
    assert mail["to"] == "jane.doe@example.com" and mail["reply_to"].startswith("reply+")
    console.get_by_test_id("emailed-marker").first.wait_for(timeout=WAIT * 1000)

    inbox = browser.new_page()
    inbox.goto(stack.info["mailbox_url"])
    item = inbox.get_by_test_id("mail-item").filter(has_text=ANSWER).first
    body = item.get_by_test_id("reply-body")
    until(lambda: body.is_visible() or item.get_by_test_id("mail-reply").click(), "the reply form to open", inbox)
    body.fill(REPLY)
    sent_at = time.monotonic()
    item.get_by_test_id("reply-send").click()
    shown = console.get_by_test_id("feed-message").filter(has_text=REPLY)
    shown.first.wait_for(timeout=WAIT * 1000)
    lag_ms = (time.monotonic() - sent_at) * 1000
    print(f"\nemail reply to the operator's screen: {lag_ms:.0f} ms (mailbox Send → SMTP → inlet → "
          "S3 → handler → websocket → console)")
    assert shown.count() == 1
    assert console.get_by_test_id("message-via-email").count() >= 1
    assert "Size M is in stock" not in shown.first.inner_text()  # the quoted history stayed out
    console.get_by_test_id("show-original").first.click()
    assert ANSWER in console.get_by_test_id("original-email").first.inner_text()  # kept for operators

    back = browser.new_context(viewport={"width": 390, "height": 800}, storage_state=shop_state)
    widget = back.new_page()
    widget.goto(stack.shop_url + "#parley-chat")  # the email's link opens the chat
    texts = widget.get_by_test_id("parley-message")
    texts.filter(has_text=REPLY).first.wait_for(timeout=WAIT * 1000)
    assert texts.filter(has_text=REPLY).count() == 1
    assert texts.filter(has_text=ANSWER).count() == 1
    back.close()
    inbox.close()
    console.close()
