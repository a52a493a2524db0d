"""The operator workspace in a real headless Chromium (Debian's), driven by Playwright, against
the whole local stack: several operators, visitors in their own browser contexts."""
from __future__ import annotations

import base64
import json
import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.usefixtures("someone_online")  # else the widget offers the offline form

# A 1x1 PNG (a real image: the console shows it as a thumbnail once it loads).
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'




def token() -> str:
    return uuid.uuid4().hex[:8]


def sign_in(page, stack, email=None):
    page.goto(stack.console_url)
    page.get_by_test_id("login-email").fill(email or stack.operator_email)
    page.get_by_test_id("login-password").fill(stack.operator_password)
    page.get_by_test_id("login-submit").click()
    page.locator("#conn.on").wait_for()


def operator(browser, stack, email=None):
    """A console in its own browser context (its own session and read marks), at 1280x800;
    the stack's first operator (Ann) unless `email` names another."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    sign_in(page, stack, email)
    return page


def visitor(browser, stack, text, page_name="product.html"):
    """A new visitor (fresh context) who writes `text` in the widget."""
    page = browser.new_context().new_page()
    page.goto(stack.shop_url.rstrip("/") + "/" + page_name)
    page.get_by_test_id("parley-launcher").click()
    say(page, text)
    return page


def say(page, text):
    page.get_by_test_id("parley-input").fill(text)
    page.get_by_test_id("parley-send").click()
    page.locator('[data-testid="parley-message"][data-seq]').filter(has_text=text).first.wait_for()


def row(console, dialog_id):
    return console.locator(f'[data-testid="dialog-row"][data-dialog-id="{dialog_id}"]')


def open_dialog(console, text) -> str:
    """Opens the row whose last message contains `text`; returns its dialog id."""
    found = console.get_by_test_id("dialog-row").filter(has_text=text)
    expect(found).to_have_count(1)
    dialog_id = found.get_attribute("data-dialog-id")
    found.click()
    expect(found).to_have_attribute("aria-current", "true")
    console.get_by_test_id("feed-message").filter(has_text=text).first.wait_for()
    return dialog_id


def feed(console, text):
    return console.get_by_test_id("feed-message").filter(has_text=text)


def reply(console, text):
    console.get_by_test_id("reply-input").fill(text)
    console.get_by_test_id("reply-input").press("Enter")


def assert_no_injection(page):
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("#app script, #login script").count() == 0


def close_all(*pages):
    for page in pages:
        errors = getattr(page, "errors", [])
        page.context.close()
        assert not errors, errors


# ---------------------------------------------------------------------------------------------


def test_two_operators_see_each_others_tags_notes_replies_and_close_and_the_visitor_never_sees_a_note(stack, browser):
    t = token()
    shop = visitor(browser, stack, f"Do you ship to Norway? {t}")
    ann, bob = operator(browser, stack), operator(browser, stack, stack.operator2_email)
    dialog_id = open_dialog(ann, t)
    assert open_dialog(bob, t) == dialog_id

    ann.get_by_test_id("tag-input").fill(f"export-{t}")
    ann.get_by_test_id("tag-input").press("Enter")
    expect(bob.get_by_test_id("tag-chip").filter(has_text=f"export-{t}")).to_have_count(1)
    expect(row(bob, dialog_id).get_by_text(f"export-{t}")).to_have_count(1)

    ann.get_by_test_id("mode-note").click()
    reply(ann, f"internal: check the courier first {t}")
    note = feed(bob, "check the courier first")
    expect(note).to_have_count(1)
    assert note.get_attribute("data-note") == "true"
    assert note.text_content().startswith(note.locator(".av").text_content() + "Note")
    expect(feed(ann, "check the courier first")).to_have_attribute("data-note", "true")

    ann.get_by_test_id("mode-reply").click()
    reply(ann, f"Yes, we ship to Norway in 3 days {t}")
    expect(feed(bob, "we ship to Norway")).to_have_count(1)
    assert feed(bob, "we ship to Norway").get_attribute("data-note") is None
    shop_reply = shop.locator('[data-testid="parley-message"][data-author="operator"]').filter(has_text="we ship to Norway")
    shop_reply.first.wait_for()
    # The note was delivered to the operators before the reply was sent; the visitor never got it.
    assert "check the courier" not in shop.content()
    shop.reload()
    shop.get_by_test_id("parley-launcher").click()
    shop.locator('[data-testid="parley-message"][data-seq]').filter(has_text="we ship to Norway").first.wait_for()
    assert "check the courier" not in shop.content()

    bob.get_by_test_id("tag-chip").filter(has_text=f"export-{t}").get_by_test_id("tag-remove").click()
    expect(ann.get_by_test_id("tag-chip")).to_have_count(0)
    reply(bob, f"I'll book the courier {t}")
    expect(feed(ann, "book the courier")).to_contain_text("Ben")

    ann.get_by_test_id("close-dialog").click()
    expect(row(bob, dialog_id)).to_have_count(0)  # bob is on the Open tab: the row leaves at once
    expect(row(ann, dialog_id)).to_have_count(0)
    expect(bob.get_by_test_id("reopen-dialog")).to_be_visible()
    expect(bob.get_by_test_id("reply-input")).to_be_disabled()
    assert bob.get_by_test_id("reply-input").get_attribute("placeholder") == "Reopen to reply"

    bob.get_by_test_id("reopen-dialog").click()
    expect(row(ann, dialog_id)).to_have_count(1)
    expect(ann.get_by_test_id("reply-input")).to_be_enabled()
    close_all(shop, ann, bob)


def test_filters_open_closed_mine_unassigned_and_tag(stack, browser):
    # Routing would give the new dialogs to an operator with room: Ann is made full (cap 1,
    # one dialog) and Ben away, so they wait unassigned, and the widget still offers the chat.
    from infra.local.screenshots import OperatorSocket, VisitorSocket

    def team_of(socket: OperatorSocket, frame: dict) -> dict:
        return socket.request(frame, lambda f: f.get("type") == "team")

    ann = OperatorSocket(stack)
    ben = OperatorSocket(stack, stack.operator2_email, stack.operator_password)
    team_of(ben, {"type": "presence", "status": "away"})
    me = ann.operator["operator_id"]
    mine = next(op for op in team_of(ann, {"type": "cap_set", "operator_id": me, "cap": 1})["operators"]
                if op["operator_id"] == me)
    filler = None
    if mine["load"] == 0:
        filler = VisitorSocket(stack, "mug.html", "Mug")
        filler.request({"type": "message", "client_id": f"filler-{token()}", "text": "filler"},
                       lambda f: f.get("type") == "queue" and f.get("operator"))
    try:
        _filters(stack, browser)
    finally:
        team_of(ann, {"type": "cap_set", "operator_id": me, "cap": None})
        team_of(ben, {"type": "presence", "status": "online"})
        for socket in (ann, ben, filler):
            if socket is not None:
                socket.close()


def _filters(stack, browser):
    t = token()
    first = visitor(browser, stack, f"first visitor {t}")
    second = visitor(browser, stack, f"second visitor {t}")
    ann = operator(browser, stack)
    second_id = open_dialog(ann, f"second visitor {t}")
    first_id = open_dialog(ann, f"first visitor {t}")
    reply(ann, f"Hello first {t}")  # the first reply assigns the dialog to its author
    expect(ann.get_by_test_id("assign-select")).not_to_have_value("")
    ann.get_by_test_id("tag-input").fill(f"wholesale-{t}")
    ann.get_by_test_id("tag-input").press("Enter")
    expect(ann.get_by_test_id("tag-chip")).to_have_count(1)

    ann.get_by_test_id("filter-assignee").select_option("me")
    expect(row(ann, first_id)).to_have_count(1)
    expect(row(ann, second_id)).to_have_count(0)
    ann.get_by_test_id("filter-assignee").select_option("none")
    expect(row(ann, second_id)).to_have_count(1)
    expect(row(ann, first_id)).to_have_count(0)
    ann.get_by_test_id("filter-assignee").select_option("")

    ann.get_by_test_id("filter-tag").select_option(f"wholesale-{t}")
    expect(row(ann, first_id)).to_have_count(1)
    expect(ann.get_by_test_id("dialog-row")).to_have_count(1)
    # Removing the tag while filtering by it: the row leaves at once.
    ann.get_by_test_id("tag-remove").click()
    expect(row(ann, first_id)).to_have_count(0)
    ann.get_by_test_id("filter-tag").select_option("")
    expect(row(ann, second_id)).to_have_count(1)

    # Assigning the second dialog while showing Unassigned makes it leave.
    ann.get_by_test_id("filter-assignee").select_option("none")
    expect(row(ann, second_id)).to_have_count(1)
    row(ann, second_id).click()
    ann.get_by_test_id("assign-select").select_option(label="Ann")
    expect(row(ann, second_id)).to_have_count(0)
    ann.get_by_test_id("filter-assignee").select_option("")

    row(ann, first_id).click()
    ann.get_by_test_id("close-dialog").click()
    expect(row(ann, first_id)).to_have_count(0)
    ann.get_by_test_id("tab-closed").click()
    expect(row(ann, first_id)).to_have_count(1)
    expect(row(ann, second_id)).to_have_count(0)
    ann.get_by_test_id("tab-open").click()
    expect(row(ann, second_id)).to_have_count(1)
    close_all(first, second, ann)


def test_templates_save_insert_with_placeholders_edit_and_delete(stack, browser):
    t = token()
    shop = visitor(browser, stack, f"template visitor {t}")
    ann = operator(browser, stack)
    open_dialog(ann, t)
    ann.get_by_test_id("card-name").fill(f"Jane {t}")
    ann.get_by_test_id("card-name").press("Enter")
    expect(ann.locator("#card-title")).to_have_text(f"Jane {t}")

    ann.get_by_test_id("reply-input").fill("Hi {visitor.name}, {operator.name} from {site.name} here. {visitor.phone}!")
    ann.get_by_test_id("template-save").click()
    ann.get_by_test_id("template-shortcut").fill(f"greet{t}")
    ann.get_by_test_id("template-shortcut").press("Enter")
    expect(ann.get_by_test_id("template-shortcut")).to_be_hidden()

    ann.get_by_test_id("reply-input").fill("")
    ann.get_by_test_id("reply-input").press_sequentially(f"/greet{t[:4]}")
    suggestions = ann.get_by_test_id("template-suggestions")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_test_id("template-option").filter(has_text=f"greet{t}")).to_have_count(1)
    ann.get_by_test_id("reply-input").press("Enter")
    expect(suggestions).to_be_hidden()
    expect(ann.get_by_test_id("reply-input")).to_have_value(f"Hi Jane {t}, Ann from Parley Demo Shop here. !")

    ann.get_by_test_id("reply-input").fill(f"/greet{t}")
    expect(suggestions).to_be_visible()
    ann.get_by_test_id("reply-input").press("Escape")
    expect(suggestions).to_be_hidden()
    expect(ann.get_by_test_id("reply-input")).to_have_value(f"/greet{t}")

    ann.get_by_test_id("templates-open").click()
    found = ann.get_by_test_id("template-row").filter(has_text=f"/greet{t}")
    expect(found).to_have_count(1)
    tpl = ann.locator(f'[data-testid="template-row"][data-template-id="{found.get_attribute("data-template-id")}"]')
    tpl.get_by_test_id("template-edit").click()
    tpl.get_by_test_id("template-edit-text").fill("Edited: thanks {visitor.name}")
    tpl.get_by_test_id("template-edit-save").click()
    expect(tpl).to_contain_text("Edited: thanks {visitor.name}")

    ann.get_by_test_id("reply-input").fill("")
    ann.get_by_test_id("reply-input").press_sequentially(f"/greet{t}")
    ann.get_by_test_id("reply-input").press("Tab")
    expect(ann.get_by_test_id("reply-input")).to_have_value(f"Edited: thanks Jane {t}")

    tpl.get_by_test_id("template-delete").click()
    expect(tpl).to_have_count(0)
    ann.get_by_test_id("reply-input").fill(f"/greet{t}")
    expect(suggestions.get_by_test_id("template-option").filter(has_text=f"greet{t}")).to_have_count(0)
    close_all(shop, ann)


def test_card_edits_name_email_phone_refuses_a_bad_email_and_shows_avatar(stack, browser):
    t = token()
    shop = visitor(browser, stack, f"card visitor {t}", page_name="cart.html")
    ann = operator(browser, stack)
    dialog_id = open_dialog(ann, t)
    card_avatar = ann.get_by_test_id("card-avatar")
    expect(card_avatar).to_contain_text("V")  # initials of "Visitor 1A2B" until a name is known
    expect(ann.get_by_test_id("card-page")).to_contain_text("Your cart")

    ann.get_by_test_id("card-name").fill(f"Jane Doe{t}")
    ann.get_by_test_id("card-name").press("Enter")
    expect(row(ann, dialog_id).locator(".name")).to_have_text(f"Jane Doe{t}")
    expect(card_avatar).to_have_text("JD")
    ann.get_by_test_id("card-email").fill(f"jane.{t}@example.com")
    ann.get_by_test_id("card-email").press("Enter")
    expect(card_avatar.locator("img")).to_have_attribute("src", re.compile(r"^https://www\.gravatar\.com/avatar/"))
    ann.get_by_test_id("card-phone").fill("+44 20 7946 0000")
    ann.get_by_test_id("card-phone").press("Enter")

    ann.get_by_test_id("card-email").fill("not an email")
    ann.get_by_test_id("card-email").press("Enter")
    expect(ann.get_by_test_id("card-error")).to_contain_text("email")
    expect(ann.get_by_test_id("card-email")).to_have_value("not an email")  # the typed value stays

    other = operator(browser, stack)
    row(other, dialog_id).click()
    expect(other.get_by_test_id("card-name")).to_have_value(f"Jane Doe{t}")
    expect(other.get_by_test_id("card-email")).to_have_value(f"jane.{t}@example.com")  # not saved
    expect(other.get_by_test_id("card-phone")).to_have_value("+44 20 7946 0000")

    other.get_by_test_id("full-card-link").click()
    assert re.search(r"#visitor/", other.url)
    edits = other.get_by_test_id("full-edits")
    expect(edits.get_by_test_id("edit-event")).to_have_count(3)
    expect(edits.get_by_test_id("edit-event").filter(has_text="email")).to_contain_text(f"jane.{t}@example.com")
    expect(other.get_by_test_id("full-events").get_by_test_id("page-event").first).to_contain_text("Your cart")
    other.get_by_test_id("full-dialogs").get_by_test_id("full-dialog").first.click()
    expect(other.get_by_test_id("reply-input")).to_be_visible()
    assert "#visitor/" not in other.url
    close_all(shop, ann, other)


def _frames_sent(page) -> list[dict]:
    sent: list[dict] = []

    def watch(ws):
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)) if isinstance(payload, str) else None)

    page.on("websocket", watch)
    return sent


def test_files_reach_both_operators_and_a_too_large_file_is_refused_before_upload(stack, browser):
    t = token()
    shop = visitor(browser, stack, f"file visitor {t}")
    ann = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    sent = _frames_sent(ann)
    sign_in(ann, stack)
    bob = operator(browser, stack)
    open_dialog(ann, t)
    open_dialog(bob, t)

    ann.get_by_test_id("attach-input").set_input_files(
        files=[{"name": f"too-big-{t}.png", "mimeType": "image/png", "buffer": b"\0" * (2 * 1024 * 1024 + 1)}])
    expect(ann.get_by_test_id("pane-error")).to_contain_text(f"too-big-{t}.png is larger than 2 MB")
    assert not [f for f in sent if f.get("type") == "upload"]

    # S3 refusing the POST (as it does past the policy's limits): its message is shown, nothing is sent.
    refuse = re.compile(re.escape(stack.moto_url) + r"/[^/?]+/?$")
    ann.route(refuse, lambda route: route.fulfill(
        status=400, content_type="application/xml",
        body="<Error><Code>EntityTooLarge</Code><Message>Your proposed upload exceeds the maximum allowed size</Message></Error>")
        if route.request.method == "POST" else route.continue_())
    ann.get_by_test_id("attach-input").set_input_files(
        files=[{"name": f"refused-{t}.png", "mimeType": "image/png", "buffer": PNG}])
    expect(ann.get_by_test_id("pane-error")).to_contain_text(
        f"refused-{t}.png was not uploaded: Your proposed upload exceeds the maximum allowed size (EntityTooLarge)")
    ann.unroute(refuse)
    assert not [f for f in sent if f.get("type") == "message" and f.get("file")]

    ann.get_by_test_id("attach-input").set_input_files(
        files=[{"name": f"pixel-{t}.png", "mimeType": "image/png", "buffer": PNG}])
    expect(ann.get_by_test_id("pane-error")).to_be_hidden()
    for page in (ann, bob):
        link = page.get_by_test_id("file-link").filter(has_text=f"pixel-{t}.png")
        expect(link).to_have_attribute("download", f"pixel-{t}.png")  # a link once the server's URL is in
        expect(link).to_have_text(f"pixel-{t}.png (70 B)")
        assert link.get_attribute("rel") == "noopener"
        thumb = page.get_by_test_id("file-thumb")
        expect(thumb).to_have_count(1)
        assert thumb.get_attribute("src") == link.get_attribute("href")
        expect(thumb).to_have_js_property("naturalWidth", 1)  # the image loaded (CSP and S3 allow it)
    assert [f for f in sent if f.get("type") == "upload"]
    close_all(shop, ann, bob)


def test_markup_from_the_network_is_shown_as_text_and_never_runs(stack, browser):
    t = token()
    shop = visitor(browser, stack, f"{t} says {HOSTILE}")
    ann, bob = operator(browser, stack), operator(browser, stack, stack.operator2_email)
    dialog_id = open_dialog(ann, t)
    open_dialog(bob, t)

    ann.get_by_test_id("card-name").fill(f"{t}{HOSTILE}"[:100])
    ann.get_by_test_id("card-name").press("Enter")
    ann.get_by_test_id("tag-input").fill('<b onmouseover="window.pwned=3">x</b>')
    ann.get_by_test_id("tag-input").press("Enter")
    ann.get_by_test_id("mode-note").click()
    reply(ann, f"note {HOSTILE}")
    ann.get_by_test_id("mode-reply").click()
    reply(ann, f"reply {HOSTILE}")
    ann.get_by_test_id("reply-input").fill(f"template {HOSTILE}")
    ann.get_by_test_id("template-save").click()
    ann.get_by_test_id("template-shortcut").fill(f"x{t}<i>")
    ann.get_by_test_id("template-shortcut").press("Enter")
    ann.get_by_test_id("attach-input").set_input_files(
        files=[{"name": f'<img src=x onerror="window.pwned=4">{t}.png', "mimeType": "image/png", "buffer": PNG}])

    for page in (ann, bob):
        expect(row(page, dialog_id).locator(".name")).to_have_text(f"{t}{HOSTILE}"[:100])
        expect(page.get_by_test_id("tag-chip")).to_have_text(re.compile(r'^<b onmouseover="window\.pwned=3">x</b>'))
        expect(feed(page, f"note {HOSTILE}")).to_have_attribute("data-note", "true")
        expect(feed(page, f"reply {HOSTILE}")).to_have_count(1)
        expect(feed(page, f"{t} says {HOSTILE}")).to_have_count(1)
        expect(page.get_by_test_id("file-link")).to_contain_text(f'<img src=x onerror="window.pwned=4">{t}.png')
        page.get_by_test_id("templates-open").click()
        expect(page.get_by_test_id("template-row").filter(has_text=f"/x{t}<i>")).to_contain_text(f"template {HOSTILE}")
        row(page, dialog_id).hover()
        page.get_by_test_id("tag-chip").hover()
        assert_no_injection(page)
        assert page.locator("b, i").count() == 0
    shop.locator('[data-testid="parley-message"][data-author="operator"]').filter(has_text="reply <img").first.wait_for()
    assert_no_injection(shop)
    ann.get_by_test_id("template-row").filter(has_text=f"/x{t}<i>").get_by_test_id("template-delete").click()
    close_all(shop, ann, bob)


def test_history_toggle_shows_the_earlier_dialog_after_a_close_and_a_new_message(stack, browser):
    t = token()
    shop = visitor(browser, stack, f"earlier question {t}")
    ann = operator(browser, stack)
    first_id = open_dialog(ann, f"earlier question {t}")
    reply(ann, f"earlier answer {t}")
    shop.locator('[data-testid="parley-message"][data-author="operator"]').filter(has_text="earlier answer").first.wait_for()
    ann.get_by_test_id("close-dialog").click()
    expect(row(ann, first_id)).to_have_count(0)

    say(shop, f"later question {t}")
    second_id = open_dialog(ann, f"later question {t}")
    assert second_id != first_id
    expect(feed(ann, "earlier question")).to_have_count(0)

    ann.get_by_test_id("history-toggle").click()
    boundaries = ann.get_by_test_id("dialog-boundary")
    expect(boundaries).to_have_count(2)
    expect(boundaries.first).to_contain_text("Dialog started")
    expect(boundaries.first).to_contain_text("closed")
    expect(boundaries.nth(1)).to_contain_text("open")
    expect(feed(ann, "earlier question")).to_have_count(1)
    expect(feed(ann, "earlier answer")).to_have_count(1)
    texts = ann.locator("#feed").inner_text()
    assert texts.index("earlier question") < texts.index("earlier answer") < texts.index("later question")
    assert texts.index("closed") < texts.index("later question")

    ann.get_by_test_id("history-toggle").click()
    expect(feed(ann, "earlier question")).to_have_count(0)
    expect(boundaries).to_have_count(0)
    close_all(shop, ann)


def test_keyboard_moves_between_dialogs_and_unread_count_is_in_the_title(stack, browser):
    t = token()
    older = visitor(browser, stack, f"older {t}")
    newer = visitor(browser, stack, f"newer {t}")
    ann = operator(browser, stack)
    older_id = open_dialog(ann, f"older {t}")
    newer_id = open_dialog(ann, f"newer {t}")
    rows = ann.get_by_test_id("dialog-row")
    ids = [rows.nth(i).get_attribute("data-dialog-id") for i in range(rows.count())]
    assert ids.index(newer_id) < ids.index(older_id)  # most recent activity first
    below = ids[ids.index(newer_id) + 1]

    ann.keyboard.press("Alt+ArrowDown")
    expect(row(ann, below)).to_have_attribute("aria-current", "true")
    expect(row(ann, newer_id)).to_have_attribute("aria-current", "false")
    ann.keyboard.press("Alt+ArrowUp")
    expect(row(ann, newer_id)).to_have_attribute("aria-current", "true")
    ann.get_by_test_id("tab-open").focus()
    ann.keyboard.press("Alt+r")
    expect(ann.get_by_test_id("reply-input")).to_be_focused()

    # Read both; the title counts the others (this browser has not read them).
    row(ann, older_id).click()
    expect(row(ann, older_id).get_by_test_id("unread-marker")).to_have_count(0)
    expect(row(ann, newer_id).get_by_test_id("unread-marker")).to_have_count(0)
    before = re.match(r"^(?:\((\d+)\) )?Parley console$", ann.title())
    assert before, ann.title()
    count = int(before.group(1) or 0)

    say(newer, f"newer again {t}")
    expect(row(ann, newer_id).get_by_test_id("unread-marker")).to_have_count(1)
    expect(ann).to_have_title(f"({count + 1}) Parley console")
    row(ann, newer_id).click()
    expect(row(ann, newer_id).get_by_test_id("unread-marker")).to_have_count(0)
    expect(ann).to_have_title(f"({count}) Parley console" if count else "Parley console")
    close_all(older, newer, ann)


def test_three_columns_at_1280_the_card_behind_a_toggle_when_narrow_and_the_notify_setting_persists(stack, browser):
    t = token()
    shop = visitor(browser, stack, f"layout {t}")
    ann = operator(browser, stack)
    open_dialog(ann, t)
    dialogs, current, card = (ann.locator(s).bounding_box() for s in ("nav.list", "#dialog", "#cardpane"))
    assert 280 <= dialogs["width"] <= 320 and 280 <= card["width"] <= 320
    assert dialogs["x"] + dialogs["width"] <= current["x"] and current["x"] + current["width"] <= card["x"] + 1
    assert current["width"] >= 600 and card["x"] + card["width"] <= 1280
    expect(ann.get_by_role("log")).to_have_count(1)

    ann.set_viewport_size({"width": 800, "height": 700})
    expect(ann.get_by_test_id("card-name")).to_be_hidden()
    ann.get_by_test_id("card-toggle").click()
    expect(ann.get_by_test_id("card-name")).to_be_visible()
    ann.keyboard.press("Escape")
    expect(ann.get_by_test_id("card-name")).to_be_hidden()

    ann.get_by_test_id("settings-open").click()
    expect(ann.get_by_test_id("notify-toggle")).to_be_checked()
    ann.get_by_test_id("notify-toggle").uncheck()
    ann.reload()
    ann.locator("#conn.on").wait_for()
    ann.get_by_test_id("settings-open").click()
    expect(ann.get_by_test_id("notify-toggle")).not_to_be_checked()
    close_all(shop, ann)
