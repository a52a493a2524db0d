"""Routing in the operator console (docs/protocol.md "Routing: presence, capacity, queue, answer
time, transfers, offline, bot, ratings") in a real headless Chromium, against a local stack of
this module's own: its schedules run every second (the answer-time rules act within seconds of
their deadline), and the presence, caps and settings changed here touch no other test module.

Visitors and the "other side" of an operator are mostly plain websockets (``VisitorSocket``,
``OperatorSocket``): quicker than a browser, and their frames can be read. Every test leaves
both operators online with the site's default cap and closes the dialogs it started."""
from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from infra.local.screenshots import OperatorSocket, VisitorSocket
from tests.browser.test_console import _frames_sent, feed, reply, row, sign_in, token

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def rstack():
    """A stack of this module's own whose scheduled functions (answer time) run every second."""
    from infra.local.stack import LocalStack

    with LocalStack(env=dict(os.environ, PARLEY_SCHEDULE_SECONDS="1")) as running:
        yield running


# ---- helpers -------------------------------------------------------------------------------


def console(browser, stack, email=None, viewport=None, clock=False, hold=None):
    """An operator's console (Ann unless `email` says otherwise) in its own browser context.
    `page.sent`: the frames it sent; `page.alerts`: any alert() (there must be none).
    `clock`: the page's clock is Playwright's (it can be moved forward). `hold`: a dict whose
    "hold" key, while true, keeps the server's `team` frames from reaching the page."""
    page = browser.new_context(viewport=viewport or DESKTOP).new_page()
    page.errors, page.alerts = [], []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("dialog", lambda dialog: (page.alerts.append(dialog.message), dialog.dismiss()))
    if hold is not None:
        page.sent = hold_team_frames(page, hold)
    else:
        page.sent = _frames_sent(page)
    if clock:
        page.clock.install()
    sign_in(page, stack, email)
    return page


def hold_team_frames(page, flag: dict) -> list[dict]:
    """Routes the page's websocket through the test: frames pass both ways, except `team`
    frames from the server while flag["hold"] is true (the console's view of the team goes
    stale, as it may for a moment in real life). Returns the list of frames the page sends."""
    sent: list[dict] = []

    def handler(ws):
        server = ws.connect_to_server()

        def to_server(message):
            if isinstance(message, str):
                sent.append(json.loads(message))
            server.send(message)

        def to_page(message):
            if flag.get("hold") and isinstance(message, str) and json.loads(message).get("type") == "team":
                flag.setdefault("dropped", []).append(json.loads(message))
                return
            ws.send(message)

        ws.on_message(to_server)
        server.on_message(to_page)

    page.route_web_socket(re.compile(r"^wss?://"), handler)
    return sent


def until(page, check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Lets the page run (Playwright delivers its events meanwhile) until check() holds."""
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        page.wait_for_timeout(100)
    return result


def sent(page, kind: str) -> list[dict]:
    return [f for f in page.sent if f.get("type") == kind]


def team(ws: OperatorSocket) -> dict:
    return ws.request({"type": "team"}, lambda f: f.get("type") == "team")


def member(frame: dict, name: str) -> dict:
    return next(op for op in frame["operators"] if op["name"] == name)


def wait_team(ws: OperatorSocket, check: Callable[[dict], bool], start: int = 0) -> dict:
    return ws.wait(lambda f: f.get("type") == "team" and check(f), start)


def set_presence(ws: OperatorSocket, status: str) -> None:
    """The socket's operator chooses a presence; returns once the team shows it."""
    name = ws.operator["name"]
    ws.request({"type": "presence", "status": status},
               lambda f: f.get("type") == "team" and member(f, name)["presence"] == status)


def set_cap(ws: OperatorSocket, name: str, operator_id: str, cap: int | None) -> None:
    ws.request({"type": "cap_set", "operator_id": operator_id, "cap": cap},
               lambda f: f.get("type") == "team" and member(f, name)["cap_override"] == cap)


def close_dialogs(ws: OperatorSocket, *dialog_ids: str) -> None:
    for dialog_id in dialog_ids:
        ws.request({"type": "close", "dialog_id": dialog_id},
                   lambda f, dialog_id=dialog_id: f.get("type") == "dialog" and f["dialog"]["dialog_id"] == dialog_id)


def visitor_socket(stack) -> VisitorSocket:
    return VisitorSocket(stack, "product.html", "Ethiopia Guji | Parley Demo Shop")


def team_row(page, operator_id: str):
    return page.locator(f'[data-testid="team-member"][data-operator-id="{operator_id}"]')


def open_team(page) -> None:
    panel = page.get_by_test_id("team-panel")
    expect(panel).to_be_visible()  # shown once the first `team` frame is in
    if panel.get_attribute("open") is None:
        page.locator("#team > summary").click()
    expect(panel.get_by_test_id("team-list")).to_be_visible()


def open_row(page, dialog_id: str) -> None:
    row(page, dialog_id).click()
    expect(row(page, dialog_id)).to_have_attribute("aria-current", "true")


def transfer_option(page, operator_id: str):
    return page.locator(f'[data-testid="transfer-option"][data-operator-id="{operator_id}"]')


def assert_clean(*pages) -> None:
    """No alert() ran, no markup from the network became an element, no page error."""
    for page in pages:
        assert page.alerts == [], page.alerts
        assert page.evaluate("window.pwned") is None
        assert page.locator("img[src='x']").count() == 0
        assert page.locator("#app script").count() == 0
        assert page.errors == [], page.errors


def close_pages(*pages) -> None:
    for page in pages:
        page.context.close()


def restore(ann_ws: OperatorSocket, ben_ws: OperatorSocket, *dialog_ids: str) -> None:
    """What every test leaves: both online, the site's default cap, its own dialogs closed."""
    close_dialogs(ann_ws, *dialog_ids)
    for ws in (ann_ws, ben_ws):
        set_presence(ws, "online")
        set_cap(ann_ws, ws.operator["name"], ws.operator["operator_id"], None)


# ---------------------------------------------------------------------------------------------


def test_presence_chosen_in_the_header_is_what_the_other_operator_sees_and_a_closed_console_reconnects_then_goes_offline(rstack, browser):
    ben_ws = OperatorSocket(rstack, rstack.operator2_email)
    ann = console(browser, rstack)
    ben = console(browser, rstack, rstack.operator2_email, clock=True)
    ann_id = member(team(ben_ws), "Ann")["operator_id"]
    select = ann.get_by_test_id("presence-select")
    expect(select).to_have_value(member(team(ben_ws), "Ann")["presence"])
    open_team(ben)
    ann_on_ben = team_row(ben, ann_id)

    for status in ("away", "offline", "online"):
        start = len(ben_ws.frames)
        select.select_option(status)
        wait_team(ben_ws, lambda f, status=status: member(f, "Ann")["presence"] == status, start)
        expect(ann_on_ben).to_have_attribute("data-presence", status)
        expect(ann_on_ben.get_by_test_id("team-presence")).to_have_attribute("data-presence", status)
        expect(ann.get_by_test_id("my-presence")).to_have_attribute("data-presence", status)
        expect(select).to_have_value(status)
    assert [f["status"] for f in sent(ann, "presence")] == ["away", "offline", "online"]

    # The select shows the server's word: a status it refuses leaves the select where it was.
    ann.evaluate("""() => { const o = document.createElement('option'); o.value = 'busy'; o.textContent = 'Busy';
                           document.getElementById('presence').append(o); }""")
    select.select_option("busy")
    expect(ann.get_by_test_id("toast-error")).to_contain_text("Your status was not changed")
    expect(select).to_have_value("online")
    expect(ann.get_by_test_id("my-presence")).to_have_attribute("data-presence", "online")

    # Ann's last console closes: within the grace period she is "reconnecting" (still available),
    # and past it the other console shows her offline by itself.
    ann.context.close()
    wait_team(ben_ws, lambda f: not member(f, "Ann")["connected"] and member(f, "Ann")["available"])
    expect(ann_on_ben).to_have_attribute("data-presence", "reconnecting")
    expect(ann_on_ben).to_contain_text("reconnecting")
    ben.clock.fast_forward(50_000)
    expect(ann_on_ben).to_have_attribute("data-presence", "offline", timeout=10_000)
    assert_clean(ben)
    assert ann.alerts == [] and ann.errors == []
    close_pages(ben)
    ben_ws.close()


def test_team_panel_shows_loads_caps_and_the_queue_a_cap_set_there_reaches_everyone_and_take_serves_the_queue(rstack, browser):
    t = token()
    ann_ws = OperatorSocket(rstack)
    ben_ws = OperatorSocket(rstack, rstack.operator2_email)
    ann = console(browser, rstack)
    ann_id, ben_id = ann_ws.operator["operator_id"], ben_ws.operator["operator_id"]
    dialogs: list[str] = []
    try:
        open_team(ann)
        frame = team(ben_ws)
        ben = member(frame, "Ben")
        default = frame["settings"]["default_cap"]
        ben_row = team_row(ann, ben_id)
        expect(ben_row.get_by_test_id("team-load")).to_have_text(f"{ben['load']} / {ben['cap']}")
        expect(ben_row.get_by_test_id("team-cap")).to_have_value("" if ben["cap_override"] is None else str(ben["cap_override"]))
        expect(ben_row.get_by_test_id("team-cap").locator("option").first).to_have_text(f"default ({default})")
        expect(team_row(ann, ann_id)).to_contain_text("Ann (you)")

        new = 7 if ben["cap"] != 7 else 8
        start = len(ben_ws.frames)
        ben_row.get_by_test_id("team-cap").select_option(str(new))
        wait_team(ben_ws, lambda f: member(f, "Ben")["cap_override"] == new and member(f, "Ben")["cap"] == new, start)
        expect(ben_row.get_by_test_id("team-load")).to_have_text(re.compile(rf"^\d+ / {new}$"))
        assert sent(ann, "cap_set")[-1] == {"type": "cap_set", "operator_id": ben_id, "cap": new}
        ben_row.get_by_test_id("team-cap").select_option("")
        wait_team(ben_ws, lambda f: member(f, "Ben")["cap_override"] is None, start)
        expect(ben_row.get_by_test_id("team-load")).to_have_text(re.compile(rf"^\d+ / {default}$"))
        expect(ben_row.get_by_test_id("team-cap")).to_have_value("")
        assert sent(ann, "cap_set")[-1] == {"type": "cap_set", "operator_id": ben_id, "cap": None}

        # Nobody available: new dialogs queue; the panel counts them, their rows have their place
        # and a Take button, which serves one (to Ann, with no "assigned to you" toast: she took
        # it); the one behind moves up.
        set_presence(ann_ws, "away")
        set_presence(ben_ws, "away")
        expect(ann.get_by_test_id("presence-select")).to_have_value("away")
        ahead = team(ann_ws)["queue"]["length"]
        first, second = visitor_socket(rstack), visitor_socket(rstack)
        first_id = first.message(f"anyone there? {t}")["dialog_id"]
        dialogs.append(first_id)
        second_id = second.message(f"hello? {t}")["dialog_id"]
        dialogs.append(second_id)
        expect(row(ann, first_id).get_by_test_id("queue-badge")).to_have_text(f"#{ahead + 1} in queue")
        expect(row(ann, second_id).get_by_test_id("queue-badge")).to_have_text(f"#{ahead + 2} in queue")
        expect(ann.get_by_test_id("team-queue")).to_have_text(re.compile(rf"^{ahead + 2} waiting · oldest \d+ (s|min)$"))
        expect(ann.get_by_test_id("team-summary")).to_contain_text(f"{ahead + 2} waiting")
        ann.locator(f'li[data-dialog-id="{first_id}"]').get_by_test_id("take-dialog").click()
        expect(row(ann, first_id).get_by_test_id("queue-badge")).to_have_count(0)
        expect(row(ann, second_id).get_by_test_id("queue-badge")).to_have_text(f"#{ahead + 1} in queue")
        assert sent(ann, "assign")[-1] == {"type": "assign", "dialog_id": first_id, "operator_id": ann_id}
        open_row(ann, first_id)
        expect(ann.get_by_test_id("assign-select")).to_have_value(ann_id)
        expect(ann.get_by_test_id("team-queue")).to_have_text(re.compile(rf"^{ahead + 1} waiting · oldest \d+ (s|min)$"))
        ann.wait_for_timeout(1000)  # an "assigned to you" toast would be up by now
        expect(ann.get_by_test_id("toast-assigned")).to_have_count(0)
        first.close()
        second.close()
        assert_clean(ann)
    finally:
        restore(ann_ws, ben_ws, *dialogs)
        close_pages(ann)
        ann_ws.close()
        ben_ws.close()


def test_answer_time_settings_then_a_new_dialog_is_assigned_flagged_late_and_offered_to_the_other_operator_who_takes_it(rstack, browser):
    t = token()
    ann_ws = OperatorSocket(rstack)
    ben_ws = OperatorSocket(rstack, rstack.operator2_email)
    ann_id, ben_id = ann_ws.operator["operator_id"], ben_ws.operator["operator_id"]
    before = {k: v for k, v in ann_ws.request({"type": "proactive"}, lambda f: f.get("type") == "proactive")["settings"].items()
              if k in ("answer_seconds", "reassign_seconds")}
    ann = console(browser, rstack)
    ben = console(browser, rstack, rstack.operator2_email)
    dialogs: list[str] = []
    try:
        # The routing settings: checked in the form before anything is sent.
        ann.get_by_test_id("nav-proactive").click()
        expect(ann.get_by_test_id("routing-form")).to_be_visible()
        expect(ann.get_by_test_id("settings-answer-seconds")).to_have_value(str(before["answer_seconds"]))
        ann.get_by_test_id("settings-answer-seconds").fill("5")
        ann.get_by_test_id("routing-save").click()
        expect(ann.get_by_test_id("routing-error")).to_have_text("Answer within: a whole number from 10 to 600.")
        ann.get_by_test_id("settings-answer-seconds").fill("10")
        ann.get_by_test_id("settings-reassign-seconds").fill("9")
        ann.get_by_test_id("routing-save").click()
        expect(ann.get_by_test_id("routing-error")).to_contain_text("Offer to another operator after")
        assert not sent(ann, "settings_save")
        ann.get_by_test_id("settings-reassign-seconds").fill("10")
        ann.get_by_test_id("routing-save").click()
        expect(ann.get_by_test_id("routing-status")).to_have_text("Saved.")
        expect(ann.get_by_test_id("routing-error")).to_be_hidden()
        saved = sent(ann, "settings_save")[-1]["settings"]
        assert saved["answer_seconds"] == 10 and saved["reassign_seconds"] == 10
        assert set(saved) == {"default_cap", "answer_seconds", "reassign_seconds", "bot_enabled", "bot_name", "autoreply"}
        ann.get_by_test_id("nav-dialogs").click()

        # Ben is away: the new dialog goes to Ann, who is told.
        ben.get_by_test_id("presence-select").select_option("away")
        wait_team(ann_ws, lambda f: member(f, "Ben")["presence"] == "away")
        shop = visitor_socket(rstack)
        dialog_id = shop.message(f"Is the grinder in stock? {t}")["dialog_id"]
        dialogs.append(dialog_id)
        toast = ann.get_by_test_id("toast-assigned")
        expect(toast).to_contain_text("New dialog assigned to you: Visitor")
        open_row(ann, dialog_id)
        expect(ann.get_by_test_id("assign-select")).to_have_value(ann_id)
        expect(row(ann, dialog_id).get_by_test_id("late-flag")).to_have_count(0)

        # Ben comes back. Nobody answers: after 10 s the dialog is late (a live timer in both
        # consoles), and the schedule offers it to Ben, who takes it.
        ben.get_by_test_id("presence-select").select_option("online")
        late = row(ann, dialog_id).get_by_test_id("late-flag")
        expect(late).to_have_text(re.compile(r"^late 1\d s$"), timeout=20_000)
        expect(ann.get_by_test_id("dialog-flags").get_by_test_id("late-flag")).to_be_visible()
        expect(row(ben, dialog_id).get_by_test_id("late-flag")).to_be_visible()
        offered = row(ben, dialog_id).get_by_test_id("offered-badge")
        expect(offered).to_have_text("offered to you", timeout=15_000)
        expect(row(ann, dialog_id).get_by_test_id("offered-badge")).to_have_text("offered to Ben")
        ben.locator(f'li[data-dialog-id="{dialog_id}"]').get_by_test_id("take-dialog").click()
        expect(ann.get_by_test_id("assign-select")).to_have_value(ben_id)
        expect(row(ann, dialog_id).get_by_test_id("offered-badge")).to_have_count(0)
        assert sent(ben, "assign")[-1] == {"type": "assign", "dialog_id": dialog_id, "operator_id": ben_id}
        ben.wait_for_timeout(1000)
        expect(ben.get_by_test_id("toast-assigned")).to_have_count(0)  # he took it himself

        # An answer ends the wait: the flag goes in both consoles.
        open_row(ben, dialog_id)
        reply(ben, f"Yes, 4 left {t}")
        expect(feed(ann, "4 left")).to_have_count(1)
        expect(late).to_have_count(0)
        expect(row(ben, dialog_id).get_by_test_id("late-flag")).to_have_count(0)
        shop.close()
        assert_clean(ann, ben)
    finally:
        ann_ws.request({"type": "settings_save", "settings": before}, lambda f: f.get("type") == "proactive")
        restore(ann_ws, ben_ws, *dialogs)
        close_pages(ann, ben)
        ann_ws.close()
        ben_ws.close()


def test_a_transfer_with_a_comment_gives_the_receiver_the_dialog_the_note_and_the_whole_history_and_back_to_the_queue(rstack, browser):
    t = token()
    ann_ws = OperatorSocket(rstack)
    ben_ws = OperatorSocket(rstack, rstack.operator2_email)
    ann_id, ben_id = ann_ws.operator["operator_id"], ben_ws.operator["operator_id"]
    ann = console(browser, rstack)
    ben = console(browser, rstack, rstack.operator2_email)
    dialogs: list[str] = []
    try:
        set_presence(ben_ws, "away")
        shop = visitor_socket(rstack)
        dialog_id = shop.message(f"My order arrived broken {t}")["dialog_id"]
        dialogs.append(dialog_id)
        open_row(ann, dialog_id)
        expect(ann.get_by_test_id("assign-select")).to_have_value(ann_id)
        reply(ann, f"Sorry to hear that! Which item? {t}")
        shop.wait(lambda f: f.get("type") == "message" and "Which item?" in f["message"]["text"])
        set_presence(ben_ws, "online")

        ann.get_by_test_id("transfer-open").click()
        form = ann.get_by_test_id("transfer-form")
        expect(form).to_be_visible()
        options = form.get_by_test_id("transfer-option")
        expect(options.first).to_have_attribute("data-operator-id", ben_id)  # available ones first
        ben_load = member(team(ben_ws), "Ben")
        expect(transfer_option(ann, ben_id).locator(".muted")).to_have_text(f"{ben_load['load']} / {ben_load['cap']}")
        expect(transfer_option(ann, ben_id).locator("input")).to_be_enabled()
        expect(transfer_option(ann, ann_id).locator("input")).to_be_disabled()
        expect(transfer_option(ann, ann_id).get_by_test_id("transfer-reason")).to_have_text("assigned now")
        expect(form.get_by_test_id("transfer-queue")).to_contain_text("Back to the queue")
        form.get_by_test_id("transfer-submit").click()
        expect(ann.get_by_test_id("transfer-error")).to_have_text("Choose an operator, or the queue.")

        comment = f"Wants a refund, photos are in the chat {t}"
        transfer_option(ann, ben_id).locator("input").check()
        ann.get_by_test_id("transfer-comment").fill(comment)
        form.get_by_test_id("transfer-submit").click()
        assert until(ann, lambda: sent(ann, "transfer"), "the transfer frame")[-1] == {
            "type": "transfer", "dialog_id": dialog_id, "operator_id": ben_id, "comment": comment}
        expect(form).to_be_hidden()
        expect(ann.get_by_test_id("toast-transferred")).to_contain_text("transferred to Ben")
        expect(ann.get_by_test_id("assign-select")).to_have_value(ben_id)

        # Ben is told, opens it from the toast, and has everything.
        toast = ben.get_by_test_id("toast-assigned")
        expect(toast).to_contain_text(re.compile(r"^Ann transferred Visitor \w+ to you"))
        toast.get_by_test_id("toast-action").click()
        expect(row(ben, dialog_id)).to_have_attribute("aria-current", "true")
        expect(ben.get_by_test_id("assign-select")).to_have_value(ben_id)
        note = feed(ben, comment)
        expect(note).to_have_count(1)
        expect(note).to_have_attribute("data-note", "true")
        expect(note).to_contain_text(f"Transferred to Ben by Ann: {comment}")
        expect(feed(ben, f"My order arrived broken {t}")).to_have_count(1)
        expect(feed(ben, f"Which item? {t}")).to_have_count(1)
        shop.drain()
        assert comment not in json.dumps(shop.frames)  # the note never reaches the visitor

        # Ben sends it back to the queue: it goes to the other available operator, Ann.
        ben.get_by_test_id("transfer-open").click()
        ben.get_by_test_id("transfer-queue").locator("input").check()
        ben.get_by_test_id("transfer-comment").fill(f"Back to you, Ann {t}")
        ben.get_by_test_id("transfer-submit").click()
        expect(ben.get_by_test_id("transfer-form")).to_be_hidden()
        assert sent(ben, "transfer")[-1]["operator_id"] is None
        expect(ann.get_by_test_id("toast-assigned")).to_contain_text(re.compile(r"^Ben transferred Visitor \w+ to you"))
        expect(ann.get_by_test_id("assign-select")).to_have_value(ann_id)
        expect(feed(ann, f"Back to you, Ann {t}")).to_have_attribute("data-note", "true")
        shop.close()
        assert_clean(ann, ben)
    finally:
        restore(ann_ws, ben_ws, *dialogs)
        close_pages(ann, ben)
        ann_ws.close()
        ben_ws.close()


def test_on_a_phone_a_transfer_to_an_operator_who_filled_up_meanwhile_is_refused_with_the_servers_reason(rstack, browser):
    t = token()
    ann_ws = OperatorSocket(rstack)
    ben_ws = OperatorSocket(rstack, rstack.operator2_email)
    ann_id, ben_id = ann_ws.operator["operator_id"], ben_ws.operator["operator_id"]
    hold: dict = {"hold": False}
    ann = console(browser, rstack, viewport=PHONE, hold=hold)
    dialogs: list[str] = []
    try:
        set_presence(ben_ws, "away")
        shop = visitor_socket(rstack)
        dialog_id = shop.message(f"Can someone call me back? {t}")["dialog_id"]
        dialogs.append(dialog_id)
        other = visitor_socket(rstack)
        other_id = other.message(f"Another question {t}")["dialog_id"]
        dialogs.append(other_id)
        set_presence(ben_ws, "online")
        ben_ws.request({"type": "assign", "dialog_id": other_id, "operator_id": ben_id},
                       lambda f: f.get("type") == "dialog" and f["dialog"]["dialog_id"] == other_id
                       and (f["dialog"]["assignee"] or {}).get("operator_id") == ben_id)

        open_row(ann, dialog_id)
        expect(ann.get_by_test_id("assign-select")).to_have_value(ann_id)
        ann.get_by_test_id("transfer-open").click()
        ben_option = transfer_option(ann, ben_id)
        expect(ben_option.locator("input")).to_be_enabled()
        box = ann.get_by_test_id("transfer-form").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box

        # Ben fills up; this console has not heard yet (its team frames are held back).
        hold["hold"] = True
        load = member(team(ben_ws), "Ben")["load"]
        assert load >= 1
        set_cap(ben_ws, "Ben", ben_id, load)
        until(ann, lambda: hold.get("dropped"), "a team frame held back")
        ben_option.locator("input").check()
        ann.get_by_test_id("transfer-comment").fill(f"Please call them {t}")
        ann.get_by_test_id("transfer-submit").click()
        expect(ann.get_by_test_id("transfer-error")).to_have_text(f"Ben is at capacity ({load} of {load})")
        expect(ann.get_by_test_id("transfer-form")).to_be_visible()
        expect(ann.get_by_test_id("assign-select")).to_have_value(ann_id)
        expect(feed(ann, f"Please call them {t}")).to_have_count(0)

        # The team frames flow again: Ben is shown full, and cannot be chosen.
        hold["hold"] = False
        set_presence(ben_ws, "online")  # any change pushes the team
        expect(ben_option.locator("input")).to_be_disabled()
        expect(ben_option.get_by_test_id("transfer-reason")).to_have_text(f"full ({load} / {load})")
        ann.get_by_test_id("transfer-cancel").click()
        expect(ann.get_by_test_id("transfer-form")).to_be_hidden()

        # Assigning from the header's select is refused the same way; the select shows Ann again.
        ann.get_by_test_id("assign-select").select_option(ben_id)
        expect(ann.get_by_test_id("pane-error")).to_have_text(f"Ben is at capacity ({load} of {load})")
        expect(ann.get_by_test_id("assign-select")).to_have_value(ann_id)
        shop.close()
        other.close()
        assert_clean(ann)
    finally:
        restore(ann_ws, ben_ws, *dialogs)
        close_pages(ann)
        ann_ws.close()
        ben_ws.close()


def test_faq_templates_round_trip_and_the_bot_answers_with_one_labelled_as_the_bot(rstack, browser):
    t = token()
    ann_ws = OperatorSocket(rstack)
    ben_ws = OperatorSocket(rstack, rstack.operator2_email)
    ann = console(browser, rstack)
    ben = console(browser, rstack, rstack.operator2_email)
    dialogs: list[str] = []
    template_id = None
    try:
        ann.get_by_test_id("templates-open").click()
        ann.get_by_test_id("template-new").click()
        ann.get_by_test_id("template-edit-shortcut").fill(f"delivery{t}")
        ann.get_by_test_id("template-edit-text").fill("Delivery takes 3 days by tracked courier to any country.")
        ann.get_by_test_id("template-edit-faq").check()
        ann.get_by_test_id("template-edit-keywords").fill("shipping, parcel, courier")
        ann.get_by_test_id("template-edit-save").click()
        saved = until(ann, lambda: sent(ann, "template_save"), "template_save sent")[-1]
        assert saved["faq"] is True and saved["keywords"] == "shipping, parcel, courier"
        found = ann.get_by_test_id("template-row").filter(has_text=f"/delivery{t}")
        expect(found.get_by_test_id("template-faq")).to_have_text("FAQ")
        expect(found.get_by_test_id("template-keywords")).to_have_text("Keywords: shipping, parcel, courier")
        template_id = found.get_attribute("data-template-id")

        ben.get_by_test_id("templates-open").click()
        on_ben = ben.locator(f'[data-testid="template-row"][data-template-id="{template_id}"]')
        expect(on_ben.get_by_test_id("template-faq")).to_have_count(1)
        on_ben.get_by_test_id("template-edit").click()
        expect(on_ben.get_by_test_id("template-edit-faq")).to_be_checked()
        expect(on_ben.get_by_test_id("template-edit-keywords")).to_have_value("shipping, parcel, courier")
        on_ben.get_by_test_id("template-edit-faq").uncheck()
        on_ben.get_by_test_id("template-edit-save").click()
        expect(found.get_by_test_id("template-faq")).to_have_count(0)
        assert sent(ben, "template_save")[-1]["faq"] is False
        expect(found.get_by_test_id("template-keywords")).to_have_count(1)
        ann.get_by_test_id("template-row").filter(has_text=f"/delivery{t}").get_by_test_id("template-edit").click()
        ann.get_by_test_id("template-edit-faq").check()
        ann.get_by_test_id("template-edit-save").click()
        expect(on_ben.get_by_test_id("template-faq")).to_have_count(1)
        ann.keyboard.press("Escape")
        ben.keyboard.press("Escape")

        # With the bot on, it answers a matching question with the FAQ, and hands over on request.
        ann_ws.request({"type": "settings_save", "settings": {"bot_enabled": True, "bot_name": "Shop helper"}},
                       lambda f: f.get("type") == "proactive")
        shop = visitor_socket(rstack)
        dialog_id = shop.message("How many days does delivery by courier take?")["dialog_id"]
        dialogs.append(dialog_id)
        expect(row(ann, dialog_id).get_by_test_id("bot-badge")).to_have_text("bot")
        open_row(ann, dialog_id)
        answer = ann.locator('[data-testid="feed-message"][data-author="bot"]').filter(has_text="Delivery takes 3 days")
        expect(answer).to_have_count(1)
        expect(answer.get_by_test_id("bot-label")).to_have_text("bot")
        expect(answer.locator(".author")).to_have_text("Shop helper")
        shop.message("I want to talk to a person please")
        expect(row(ann, dialog_id).get_by_test_id("bot-badge")).to_have_count(0)
        handoff_note = ann.locator('[data-testid="feed-message"][data-author="bot"][data-note="true"]')
        expect(handoff_note).to_have_count(1)
        expect(handoff_note).to_contain_text("Note")
        shop.close()
        assert_clean(ann, ben)
    finally:
        ann_ws.request({"type": "settings_save", "settings": {"bot_enabled": False, "bot_name": "Assistant"}},
                       lambda f: f.get("type") == "proactive")
        if template_id:
            ann_ws.request({"type": "template_delete", "template_id": template_id}, lambda f: f.get("type") == "templates")
        restore(ann_ws, ben_ws, *dialogs)
        close_pages(ann, ben)
        ann_ws.close()
        ben_ws.close()


def test_ratings_are_shown_with_their_comment_and_a_continued_dialog_links_to_the_one_it_continues(rstack, browser):
    t = token()
    ann_ws = OperatorSocket(rstack)
    ben_ws = OperatorSocket(rstack, rstack.operator2_email)
    ann = console(browser, rstack)
    dialogs: list[str] = []
    try:
        shop = visitor_socket(rstack)
        first = shop.message(f"Where is my parcel? {t}")["dialog_id"]
        dialogs.append(first)
        ann_ws.message(f"On its way {t}", first)
        close_dialogs(ann_ws, first)
        shop.request({"type": "rate", "dialog_id": first, "score": "bad", "comment": f"Too slow {t} {HOSTILE}"},
                     lambda f: f.get("type") == "rated")
        second = shop.message(f"Still not here {t}")["dialog_id"]
        dialogs.append(second)
        assert second != first

        link = ann.locator(f'li[data-dialog-id="{second}"]').get_by_test_id("continues-link")
        expect(link).to_have_text(re.compile(r"^continues d_"))
        assert link.get_attribute("data-previous") == first
        link.click()
        expect(feed(ann, f"Where is my parcel? {t}")).to_have_count(1)
        expect(ann.get_by_test_id("reopen-dialog")).to_be_visible()  # the closed one is open in the pane
        rating = ann.get_by_test_id("dialog-flags").get_by_test_id("rating-badge")
        expect(rating).to_have_attribute("data-score", "bad")
        expect(rating.get_by_test_id("rating-comment")).to_have_text(f"Too slow {t} {HOSTILE}")
        assert rating.get_attribute("title") == f"Rated bad: Too slow {t} {HOSTILE}"

        shop.request({"type": "rate", "dialog_id": second, "score": "good", "comment": "Thanks!"},
                     lambda f: f.get("type") == "rated")
        good = row(ann, second).get_by_test_id("rating-badge")
        expect(good).to_have_text("👍")
        expect(good).to_have_attribute("title", "Rated good: Thanks!")
        shop.close()
        assert_clean(ann)
    finally:
        restore(ann_ws, ben_ws, *dialogs)
        close_pages(ann)
        ann_ws.close()
        ben_ws.close()


def test_a_hostile_visitor_name_is_text_in_the_transfer_ui_and_its_toasts(rstack, browser):
    t = token()
    ann_ws = OperatorSocket(rstack)
    ben_ws = OperatorSocket(rstack, rstack.operator2_email)
    ann_id, ben_id = ann_ws.operator["operator_id"], ben_ws.operator["operator_id"]
    ann = console(browser, rstack)
    ben = console(browser, rstack, rstack.operator2_email)
    dialogs: list[str] = []
    try:
        set_presence(ben_ws, "away")
        shop = visitor_socket(rstack)
        shop.request({"type": "identify", "name": HOSTILE_NAME}, lambda f: f.get("type") == "identified")
        dialog_id = shop.message(f"hello {t}")["dialog_id"]
        dialogs.append(dialog_id)
        set_presence(ben_ws, "online")
        expect(row(ann, dialog_id).locator(".name")).to_have_text(HOSTILE_NAME)
        expect(ann.get_by_test_id("toast-assigned")).to_have_text(re.compile(
            "^New dialog assigned to you: " + re.escape(HOSTILE_NAME)))
        open_row(ann, dialog_id)
        expect(ann.locator("#dtitle")).to_have_text(HOSTILE_NAME)
        expect(ann.get_by_test_id("assign-select")).to_have_value(ann_id)
        open_team(ann)
        ann.get_by_test_id("transfer-open").click()
        transfer_option(ann, ben_id).locator("input").check()
        ann.get_by_test_id("transfer-comment").fill(HOSTILE)
        ann.get_by_test_id("transfer-submit").click()
        expect(ann.get_by_test_id("toast-transferred")).to_contain_text(f"{HOSTILE_NAME} transferred to Ben")
        expect(ben.get_by_test_id("toast-assigned")).to_contain_text(f"Ann transferred {HOSTILE_NAME} to you")
        expect(row(ben, dialog_id).locator(".name")).to_have_text(HOSTILE_NAME)
        open_row(ben, dialog_id)
        expect(feed(ben, HOSTILE)).to_have_attribute("data-note", "true")
        assert_clean(ann, ben)
        shop.close()
    finally:
        restore(ann_ws, ben_ws, *dialogs)
        close_pages(ann, ben)
        ann_ws.close()
        ben_ws.close()
