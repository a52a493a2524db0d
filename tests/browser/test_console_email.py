"""Email continuity in a real headless Chromium, against the whole local stack, as the console
shows it: a dialog started by email (its mark in the list), a message that came by email (its
marker, the original on demand, the attachments left out), the operator's answers the visitor was
emailed, and whether the visitor gets email copies at all (the card); and which answers go out by
email: only those the visitor has not read in the widget.

These tests run a stack of their own whose mail goes out within seconds (the mirror's delay 2 s,
the schedule every second); its mailbox (``infra/local/mailbox.py``) stands in for the visitor's
mail client.
"""
from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from infra.local.screenshots import OperatorSocket, VisitorSocket
from tests.browser.test_console import (
    HOSTILE,
    assert_no_injection,
    close_all,
    feed,
    open_dialog,
    operator,
    reply,
    row,
    token,
)
from tests.browser.test_widget_email import Shop

pytestmark = pytest.mark.usefixtures("someone_online")  # else the widget offers the offline form

BIG = b"PK\x03\x04" + bytes(3 * 1024 * 1024 - 4)  # 3.0 MB: too large to become a chat file


@pytest.fixture(scope="module")
def mail_stack():
    """A stack of this module's own: answers are emailed 2 s after the last one, checked every second."""
    from infra.local.stack import LocalStack

    env = dict(os.environ, PARLEY_MAIL_DELAY_SECONDS="2", PARLEY_SCHEDULE_SECONDS="1")
    with LocalStack(env=env) as running:
        yield running


def until(page, check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Lets the page run until check() holds (Playwright delivers events meanwhile)."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        page.wait_for_timeout(100)
    return result


def mails_to(stack, address: str) -> list[dict]:
    """What the visitor's mailbox got at `address`, newest first."""
    with urllib.request.urlopen(stack.info["mailbox_url"] + "messages", timeout=10) as response:
        return [m for m in json.loads(response.read())["messages"] if address in m["to"]]


def mailbox_post(page, stack, path: str, fields: dict) -> None:
    """The visitor writes from their mailbox (`send`: a new email; `reply`: an answer to one)."""
    answer = page.request.post(stack.info["mailbox_url"] + path, multipart=fields,
                               headers={"Accept": "application/json"}, timeout=30000)
    assert answer.ok and answer.json()["sent"], answer.text()


def test_an_email_to_the_shop_is_a_dialog_by_email_whose_answer_is_emailed_and_answered_by_email(mail_stack, browser):
    t = token()
    vera = f"vera-{t}@example.com"
    page = operator(browser, mail_stack)
    mailbox_post(page, mail_stack, "send", {
        "from": vera, "to": f"support@{mail_stack.info['inbound_domain']}", "subject": f"Gift cards {t}",
        "body": f"Do you sell gift cards? {t}\n{HOSTILE}\n\nVera",
        "file": {"name": "big.zip", "mimeType": "application/zip", "buffer": BIG}})

    expect(page.get_by_test_id("dialog-row").filter(has_text=t).get_by_test_id("channel-email")).to_have_count(1)
    dialog_id = open_dialog(page, t)
    question = feed(page, f"Do you sell gift cards? {t}")
    expect(question.get_by_test_id("message-via-email")).to_have_text("✉ by email")
    expect(question.get_by_test_id("left-out")).to_have_text("big.zip (3.0 MB) was not attached: larger than 2 MB")
    question.get_by_test_id("show-original").click()
    original = question.get_by_test_id("original-email")
    expect(original).to_be_visible()
    assert original.evaluate("e => e.tagName") == "PRE" and HOSTILE in original.text_content()
    assert_no_injection(page)
    expect(page.get_by_test_id("card-mail")).to_have_text("Email copies: on")

    # Vera is not on the site: the answer goes to her mailbox, and the console says so (not of a note).
    page.get_by_test_id("mode-note").click()
    reply(page, f"note: she asked last year too {t}")
    page.get_by_test_id("mode-reply").click()
    reply(page, f"Yes, from 10 EUR {t}")
    answer = page.locator('[data-testid="feed-message"][data-author="operator"]').filter(has_text=f"Yes, from 10 EUR {t}")
    expect(answer.get_by_test_id("emailed-marker")).to_have_text("✉ emailed", timeout=30000)
    expect(page.get_by_test_id("emailed-marker")).to_have_count(1)
    mail = until(page, lambda: mails_to(mail_stack, vera), "the answer in Vera's mailbox")[0]
    assert f"Yes, from 10 EUR {t}" in mail["text"]

    # Her reply comes back into the same dialog.
    mailbox_post(page, mail_stack, "reply", {"id": mail["id"], "body": f"Perfect, one please {t}"})
    back = page.locator(f'section[data-dialog-id="{dialog_id}"] [data-testid="feed-message"]').filter(
        has_text=f"Perfect, one please {t}")
    expect(back.get_by_test_id("message-via-email")).to_have_count(1, timeout=30000)

    # She unsubscribes (the email's one-click List-Unsubscribe): the card tells.
    link = re.search(r"<(https?://[^>]+)>", mail["list_unsubscribe"])[1]
    request = urllib.request.Request(link, data=b"List-Unsubscribe=One-Click", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    row(page, dialog_id).click()  # the card again
    expect(page.get_by_test_id("card-mail")).to_have_text("Email copies: off (unsubscribed)")
    close_all(page)


def test_an_answer_read_in_the_widget_is_not_emailed_and_one_missed_is(mail_stack, browser):
    t = token()
    rea, max_ = f"rea-{t}@example.com", f"max-{t}@example.com"
    op = OperatorSocket(mail_stack)
    shop = Shop(browser, mail_stack)  # Rea chats with the panel open on a visible page
    shop.launcher.click()
    shop.say(f"Please write to {rea}")
    shop.note.wait_for()
    away = VisitorSocket(mail_stack, "mug.html", "Mug")  # Max writes, then never looks again
    away.message(f"Please write to {max_}")

    def dialog_of(text: str) -> str:
        return op.wait(lambda f: f.get("type") == "message" and f["message"]["text"] == text)["message"]["dialog_id"]

    read = op.message(f"Here is your answer {t}", dialog_of(f"Please write to {rea}"))["seq"]
    shop.wait(lambda: read in shop.reads(), "Rea's widget marking the answer read")
    op.message(f"Here is yours {t}", dialog_of(f"Please write to {max_}"))

    # Max's answer was due after Rea's: once it is mailed, Rea's was considered, and not mailed.
    mail = until(shop.page, lambda: mails_to(mail_stack, max_), "the answer in Max's mailbox")[0]
    assert f"Here is yours {t}" in mail["text"] and "#parley-chat" in mail["text"]
    assert mails_to(mail_stack, rea) == []
    away.close()
    op.close()
    shop.close()
