"""Notifications, sound and the unread count while the console's tab is in the background, in a
real Chromium with notification permission granted. The page's own Notification and
AudioContext run; a thin wrapper around each records what the console asked them to show."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import close_all, say, sign_in, token, visitor

pytestmark = pytest.mark.usefixtures("someone_online")  # else the widget offers the offline form

RECORD = """
window.__alerts = []; window.__beeps = 0; window.__hidden = false;
const Real = window.Notification;
class Recorded extends Real {
  constructor(title, options) { super(title, options); window.__alerts.push({title, body: options && options.body}); }
}
Object.defineProperty(Recorded, 'permission', {get: () => Real.permission});
Recorded.requestPermission = (...args) => Real.requestPermission(...args);
window.Notification = Recorded;
const oscillator = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function () { window.__beeps++; return oscillator.call(this); };
// The tab "goes to the background" when the test says so.
Object.defineProperty(document, 'hidden', {configurable: true, get: () => window.__hidden});
Object.defineProperty(document, 'visibilityState', {configurable: true,
  get: () => window.__hidden ? 'hidden' : 'visible'});
"""


def hide(page, hidden: bool) -> None:
    page.evaluate("hidden => { window.__hidden = hidden; document.dispatchEvent(new Event('visibilitychange')); }",
                  hidden)


def unread_count(page) -> int:
    found = re.match(r"\((\d+)\) ", page.title())
    return int(found.group(1)) if found else 0


def test_a_new_dialog_in_a_background_tab_notifies_beeps_and_counts_and_the_setting_turns_it_off(stack, browser):
    t = token()
    context = browser.new_context(viewport={"width": 1280, "height": 800}, permissions=["notifications"])
    console = context.new_page()
    console.add_init_script(RECORD)
    sign_in(console, stack)  # the click also lets the page play sound
    assert console.evaluate("Notification.permission") == "granted"
    unread_before = unread_count(console)  # other tests' dialogs on this stack may be unread
    hide(console, True)

    shop = visitor(browser, stack, f"Do you have this in size 44? {t}")
    console.wait_for_function("window.__alerts.length >= 1")
    alert = console.evaluate("window.__alerts[0]")
    assert alert["title"].startswith("New dialog: Visitor ") and f"size 44? {t}" in alert["body"]
    assert console.evaluate("window.__beeps") >= 1
    expect(console).to_have_title(f"({unread_before + 1}) Parley console")

    hide(console, False)
    console.get_by_test_id("settings-open").click()
    console.get_by_test_id("notify-toggle").uncheck()
    console.keyboard.press("Escape")
    hide(console, True)
    alerts, beeps = console.evaluate("[window.__alerts.length, window.__beeps]")
    say(shop, f"Hello? {t}")
    row = console.get_by_test_id("dialog-row").filter(has_text=f"Hello? {t}")
    expect(row).to_have_count(1)  # the message arrived, and nothing was shown or played
    assert console.evaluate("[window.__alerts.length, window.__beeps]") == [alerts, beeps]
    close_all(shop, console)
