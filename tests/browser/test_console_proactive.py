"""The console's visitor monitor and proactive chat settings in a real headless Chromium, against
the whole local stack: triggers and segments made in the editor, the server's refusals shown
beside the form, live visitors, invitations reaching the widget, blocking and unblocking.

The stack is shared with the other browser tests: every trigger, segment, block and setting made
here is removed (or put back) before the test ends, and conditions name the test's own token so
that no other test's visitor is ever greeted."""
from __future__ import annotations

import json
import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.test_console import (
    HOSTILE,
    _frames_sent,
    assert_no_injection,
    close_all,
    open_dialog,
    operator,
    say,
    sign_in,
    token,
)

pytestmark = pytest.mark.usefixtures("someone_online")  # else the widget offers the offline form


def console(browser, stack, email=None):
    """An operator's console that records the frames it sends (`page.sent`)."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.sent = _frames_sent(page)
    sign_in(page, stack, email)
    return page


def go(page, view):
    """Follows a header link: "dialogs", "visitors" or "proactive"."""
    page.get_by_test_id(f"nav-{view}").click()
    expect(page.get_by_test_id(f"nav-{view}")).to_have_attribute("aria-current", "page")
    if view == "proactive":
        expect(page.get_by_test_id("trigger-list")).to_be_visible()


def shop_page(browser, stack, path):
    """A new visitor on a page of the demo shop, once the widget is connected (so its token is
    stored: the visitor's next page is the same visitor)."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    with page.expect_event("websocket"):
        page.goto(stack.shop_url.rstrip("/") + "/" + path)
    return page


def sent(page, kind):
    return [f for f in page.sent if f.get("type") == kind]


SETTINGS = ("language", "timezone", "hours", "goal_event", "capture_emails", "popups_per_session", "cooldown_minutes")

# A frame sent on a second socket of the console's own session (what another client could send):
# for documents the editor cannot make, and for putting the site's settings back.
RAW = """async frame => {
  const auth = JSON.parse(sessionStorage.getItem('parley:console:auth'));
  const ws = new WebSocket(auth.ws_url + (auth.ws_url.includes('?') ? '&' : '?') + 'v=1&token=' + encodeURIComponent(auth.token));
  await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });
  const answer = new Promise(ok => { ws.onmessage = e => {
    const f = JSON.parse(e.data);
    if (f.type === 'proactive' || f.type === 'error') ok(f);
  }; });
  ws.send(JSON.stringify(frame));
  const f = await answer;
  ws.close();
  return f;
}"""


def raw(page, frame) -> dict:
    return page.evaluate(RAW, frame)


def fill_condition(row, field, op, value=None, key=None):
    row.get_by_test_id("cond-field").select_option(field)
    if key is not None:
        row.get_by_test_id("cond-key").fill(key)
    row.get_by_test_id("cond-op").select_option(op)
    if value is not None:
        row.get_by_test_id("cond-value").fill(value)


def delete_row(row, kind):
    row.get_by_test_id(f"{kind}-delete").click()
    row.get_by_test_id(f"{kind}-delete-confirm").click()
    expect(row).to_have_count(0)


# ---------------------------------------------------------------------------------------------


def test_a_trigger_made_in_the_editor_is_listed_for_every_operator_then_toggled_edited_and_deleted(stack, browser):
    t = token()
    ann = console(browser, stack)
    bob = operator(browser, stack, stack.operator2_email)
    go(ann, "proactive")
    go(bob, "proactive")

    ann.get_by_test_id("trigger-new").click()
    form = ann.get_by_test_id("trigger-form")
    form.get_by_test_id("trigger-form-name").fill(f"Pricing help {t}")
    rows = form.get_by_test_id("cond-row")
    expect(rows).to_have_count(1)  # a new trigger starts with one row to fill in
    fill_condition(rows.nth(0), "url", "contains", f"/pricing-{t}")
    form.get_by_test_id("cond-add").click()
    fill_condition(rows.nth(1), "time_on_page", "gte", "20")
    form.get_by_test_id("cond-add").click()
    fill_condition(rows.nth(2), "path_views", "gt", "1", key=f"/plans-{t}")
    form.get_by_test_id("cond-add").click()
    fill_condition(rows.nth(3), "device", "in", "desktop, tablet")
    form.get_by_test_id("cond-add").click()
    fill_condition(rows.nth(4), "has_email", "exists")
    expect(rows.nth(4).get_by_test_id("cond-value")).to_have_count(0)  # exists takes no value
    rows.nth(4).get_by_test_id("cond-remove").click()
    expect(rows).to_have_count(4)
    form.get_by_test_id("action-text").fill("Questions about our plans, {visitor.name|there}?")
    form.get_by_test_id("action-sender").select_option(label="Ann")
    form.get_by_test_id("action-open-mobile").check()
    form.get_by_test_id("trigger-holdout").fill("10")
    form.get_by_test_id("trigger-save").click()
    expect(form).to_have_count(0)

    saved = sent(ann, "trigger_save")[-1]["trigger"]
    assert saved["match"] == {"all": [
        {"field": "url", "op": "contains", "value": f"/pricing-{t}"},
        {"field": "time_on_page", "op": "gte", "value": 20},
        {"field": "path_views", "key": f"/plans-{t}", "op": "gt", "value": 1},
        {"field": "device", "op": "in", "value": ["desktop", "tablet"]},
    ]}
    assert saved["action"]["kind"] == "message" and saved["action"]["sender"]["kind"] == "operator"
    assert saved["action"]["open_desktop"] is True and saved["action"]["open_mobile"] is True
    assert saved["holdout_percent"] == 10 and saved["enabled"] is True and "trigger_id" not in saved

    found = ann.get_by_test_id("trigger-row").filter(has_text=f"Pricing help {t}")
    expect(found).to_have_count(1)
    trigger_id = found.get_attribute("data-trigger-id")
    for page in (ann, bob):
        listed = page.locator(f'[data-testid="trigger-row"][data-trigger-id="{trigger_id}"]')
        expect(listed.get_by_test_id("trigger-name")).to_have_text(f"Pricing help {t}")
        expect(listed.get_by_test_id("trigger-action")).to_contain_text("Message from Ann")
        expect(listed.get_by_test_id("trigger-stats")).to_contain_text("shown 0 · held out 0 · accepted 0")
        expect(listed.get_by_test_id("trigger-acceptance")).to_have_text("acceptance n/a")
        expect(listed.get_by_test_id("trigger-uplift")).to_contain_text("shown n/a (0 of 0)")
        expect(listed.get_by_test_id("trigger-uplift")).to_contain_text("held out n/a (0 of 0)")
        expect(listed.get_by_test_id("trigger-warning")).to_have_count(0)
        expect(listed.get_by_test_id("trigger-enabled")).to_be_checked()

    ann_row = ann.locator(f'[data-testid="trigger-row"][data-trigger-id="{trigger_id}"]')
    bob_row = bob.locator(f'[data-testid="trigger-row"][data-trigger-id="{trigger_id}"]')
    ann_row.get_by_test_id("trigger-enabled").click()
    expect(bob_row.get_by_test_id("trigger-enabled")).not_to_be_checked()
    expect(ann_row.get_by_test_id("trigger-enabled")).not_to_be_checked()

    # Editing shows what was saved, typed; a rename keeps the conditions and the id.
    bob_row.get_by_test_id("trigger-edit").click()
    form = bob.get_by_test_id("trigger-form")
    rows = form.get_by_test_id("cond-row")
    expect(rows).to_have_count(4)
    expect(rows.nth(1).get_by_test_id("cond-op")).to_have_value("gte")
    expect(rows.nth(1).get_by_test_id("cond-value")).to_have_value("20")
    expect(rows.nth(2).get_by_test_id("cond-key")).to_have_value(f"/plans-{t}")
    expect(rows.nth(3).get_by_test_id("cond-value")).to_have_value("desktop, tablet")
    expect(form.get_by_test_id("trigger-form-enabled")).not_to_be_checked()
    expect(form.get_by_test_id("action-sender")).not_to_have_value("site")
    form.get_by_test_id("trigger-form-name").fill(f"Plans help {t}")
    form.get_by_test_id("trigger-save").click()
    expect(form).to_have_count(0)
    expect(ann_row.get_by_test_id("trigger-name")).to_have_text(f"Plans help {t}")
    expect(ann_row).to_contain_text(f"url contains “/pricing-{t}” and time on page ≥ 20")

    # A frame pushed while Ann is asked "Delete?" (Bob makes a segment) leaves the question open.
    ann_row.get_by_test_id("trigger-delete").click()
    made = raw(bob, {"type": "segment_save", "segment": {"name": f"Passing {t}", "match": {"all": []}}})
    expect(ann.get_by_test_id("segment-row").filter(has_text=f"Passing {t}")).to_have_count(1)
    ann_row.get_by_test_id("trigger-delete-confirm").click()
    expect(ann_row).to_have_count(0)
    expect(bob_row).to_have_count(0)
    segment_id = next(s["segment_id"] for s in made["segments"] if s["name"] == f"Passing {t}")
    assert raw(bob, {"type": "segment_delete", "segment_id": segment_id})["type"] == "proactive"
    close_all(ann, bob)


def test_a_malformed_condition_is_refused_and_the_servers_message_is_shown_beside_the_form(stack, browser):
    t = token()
    ann = console(browser, stack)
    go(ann, "proactive")
    ann.get_by_test_id("trigger-new").click()
    form = ann.get_by_test_id("trigger-form")
    form.get_by_test_id("trigger-form-name").fill(f"Broken {t}")
    form.get_by_test_id("action-text").fill("Hello!")
    rows = form.get_by_test_id("cond-row")
    # A count of events compared with a text: sent as typed, refused by the server.
    fill_condition(rows.nth(0), "event", "gt", "lots", key="added_to_cart")
    form.get_by_test_id("trigger-save").click()
    error = form.get_by_test_id("trigger-error")
    expect(error).to_contain_text("match.all[0]")
    assert sent(ann, "trigger_save")[-1]["trigger"]["match"] == {
        "all": [{"field": "event", "key": "added_to_cart", "op": "gt", "value": "lots"}]}

    # An empty list, in the second row this time: the message names that row.
    fill_condition(rows.nth(0), "url", "contains", f"/broken-{t}")
    form.get_by_test_id("cond-add").click()
    fill_condition(rows.nth(1), "country", "in", " , ")
    form.get_by_test_id("trigger-save").click()
    expect(error).to_contain_text("match.all[1]")
    assert sent(ann, "trigger_save")[-1]["trigger"]["match"]["all"][1] == {"field": "country", "op": "in", "value": []}
    expect(form).to_be_visible()  # still open, with what was typed
    expect(form.get_by_test_id("trigger-form-name")).to_have_value(f"Broken {t}")
    expect(ann.get_by_test_id("trigger-row").filter(has_text=f"Broken {t}")).to_have_count(0)
    form.get_by_test_id("trigger-cancel").click()
    expect(form).to_have_count(0)

    # Segments use the same editor, without the time and presence fields.
    ann.get_by_test_id("segment-new").click()
    seg = ann.get_by_test_id("segment-form")
    options = seg.get_by_test_id("cond-field").first.locator("option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert "url" in values and "event" in values
    assert not {"time_on_site", "time_on_page", "working_hours", "operator_available"} & set(values)
    seg.get_by_test_id("segment-form-name").fill(f"Broken segment {t}")
    fill_condition(seg.get_by_test_id("cond-row").nth(0), "visits", "gte", "")
    seg.get_by_test_id("segment-save").click()
    expect(seg.get_by_test_id("segment-error")).to_contain_text("match.all[0]")
    seg.get_by_test_id("segment-cancel").click()
    expect(ann.get_by_test_id("segment-row").filter(has_text=f"Broken segment {t}")).to_have_count(0)
    close_all(ann)


def test_a_trigger_with_nested_groups_is_shown_read_only_as_json_and_saved_unchanged(stack, browser):
    t = token()
    ann = console(browser, stack)
    go(ann, "proactive")
    match = {"any": [
        {"all": [{"field": "url", "op": "contains", "value": f"/nested-{t}"}, {"field": "visits", "op": "gte", "value": 3}]},
        {"field": "utm", "key": "campaign", "op": "equals", "value": f"nested-{t}"},
    ]}
    answer = raw(ann, {"type": "trigger_save", "trigger": {
        "name": f"Nested {t}", "enabled": False, "match": match, "holdout_percent": 0,
        "action": {"kind": "message", "text": "Hi!", "sender": {"kind": "site"}, "open_desktop": False, "open_mobile": False}}})
    assert answer["type"] == "proactive", answer
    found = ann.get_by_test_id("trigger-row").filter(has_text=f"Nested {t}")
    expect(found).to_contain_text(f"(url contains “/nested-{t}” and visits ≥ 3) or utm campaign equals “nested-{t}”")
    found.get_by_test_id("trigger-edit").click()
    form = ann.get_by_test_id("trigger-form")
    expect(form.get_by_test_id("cond-json")).to_contain_text('"any"')
    assert json.loads(form.get_by_test_id("cond-json").text_content()) == match
    expect(form.get_by_test_id("cond-row")).to_have_count(0)
    form.get_by_test_id("trigger-form-name").fill(f"Nested renamed {t}")
    form.get_by_test_id("trigger-save").click()
    expect(form).to_have_count(0)
    renamed = ann.get_by_test_id("trigger-row").filter(has_text=f"Nested renamed {t}")
    expect(renamed).to_have_count(1)
    assert sent(ann, "trigger_save")[-1]["trigger"]["match"] == match
    delete_row(renamed, "trigger")
    close_all(ann)


def test_the_monitor_shows_a_visitor_live_and_an_invitation_reaches_their_widget(stack, browser):
    t = token()
    ann = console(browser, stack)
    go(ann, "visitors")
    shop = shop_page(browser, stack, f"product.html?m={t}")

    found = ann.get_by_test_id("monitor-row").filter(has_text=f"m={t}")
    expect(found).to_have_count(1)
    page_cell = found.get_by_test_id("monitor-page")
    expect(page_cell).to_contain_text("Ethiopia Guji")
    expect(page_cell.locator("a")).to_have_attribute("href", re.compile(rf"^http://.*/product\.html\?m={t}$"))
    expect(page_cell.locator("a")).to_have_attribute("rel", "noopener noreferrer")
    expect(found.get_by_test_id("monitor-device")).to_contain_text("desktop")
    expect(found.get_by_test_id("monitor-in-dialog")).not_to_contain_text("Open dialog")
    on_site = found.get_by_test_id("monitor-time-site")
    expect(on_site).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(on_site).not_to_have_text(on_site.text_content())  # it ticks, with no frame needed

    shop.evaluate("name => Parley.identify({name})", f"Jane {t}")  # the row follows the visitor's card
    expect(found.get_by_test_id("monitor-name")).to_have_text(f"Jane {t}")
    expect(found).to_have_count(1)

    found.get_by_test_id("monitor-invite").click()
    expect(found.get_by_test_id("invite-text")).to_be_focused()
    found.get_by_test_id("invite-send").click()
    expect(found.get_by_test_id("invite-status")).to_have_text("Write the invitation first.")
    found.get_by_test_id("invite-text").fill(f"Need a hand with your order? {t}")
    found.get_by_test_id("invite-send").click()
    expect(found.get_by_test_id("invite-status")).to_have_text("Sent.")
    invite = sent(ann, "invite")[-1]
    assert invite["text"] == f"Need a hand with your order? {t}" and invite["visitor_id"] == found.get_attribute("data-visitor-id")
    expect(shop.get_by_test_id("parley-greeting")).to_contain_text(f"Need a hand with your order? {t}")

    # Below 900 px every visitor is a block of labelled values; the actions stay in reach.
    ann.set_viewport_size({"width": 800, "height": 700})
    expect(found.get_by_test_id("monitor-invite")).to_be_visible()
    box = found.get_by_test_id("monitor-invite").bounding_box()
    assert box["x"] + box["width"] <= 800
    ann.set_viewport_size({"width": 1280, "height": 800})

    # The visitor leaves while an invitation is being written: the row stays until it is closed.
    shop.context.close()
    expect(found).to_have_attribute("data-left", "true")
    found.get_by_test_id("invite-text").fill("Still there?")
    found.get_by_test_id("invite-send").click()
    expect(found.get_by_test_id("invite-status")).to_have_text("Not delivered: the visitor left.")
    found.get_by_test_id("invite-close").click()
    expect(found).to_have_count(0)
    close_all(ann)


def test_a_hostile_url_referrer_and_title_are_shown_as_text_in_the_monitor_and_the_card(stack, browser):
    t = token()
    ann = console(browser, stack)
    go(ann, "visitors")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    title = f"{t} {HOSTILE}"
    # A search page (any host: Playwright answers it) that links to the shop and sends its full URL
    # as the referrer; the shop's product page gets a hostile title before the widget reads it.
    search = "http://www.google.com/search?q=" + quote(HOSTILE)
    shop_url = stack.shop_url.rstrip("/") + f"/product.html?h={t}&x=" + quote(HOSTILE)
    context.route(lambda url: url.startswith("http://www.google.com/"), lambda route: route.fulfill(
        content_type="text/html",
        body=f'<meta name="referrer" content="unsafe-url"><a id="go" href="{shop_url}">to the shop</a>'))
    context.add_init_script(f"""if (location.search.includes('h={t}')) document.addEventListener('readystatechange',
        () => {{ document.title = {json.dumps(title)}; }}, {{ once: true }});""")
    shop = context.new_page()
    shop.goto(search)
    shop.click("#go")
    shop.wait_for_url(re.compile(rf".*h={t}.*"))
    assert shop.title() == title

    found = ann.get_by_test_id("monitor-row").filter(has_text=f"h={t}")
    expect(found).to_have_count(1)
    expect(found.get_by_test_id("monitor-page")).to_contain_text(title)
    expect(found.get_by_test_id("monitor-page").locator("a")).to_have_attribute("href", re.compile(r"^http://"))
    expect(found.get_by_test_id("monitor-source")).to_contain_text("google")
    found.hover()
    assert_no_injection(ann)

    shop.get_by_test_id("parley-launcher").click()
    say(shop, f"hostile pages {t}")
    go(ann, "dialogs")
    open_dialog(ann, f"hostile pages {t}")
    expect(ann.get_by_test_id("card-page")).to_have_text(title)
    expect(ann.get_by_test_id("card-referrer")).to_contain_text("www.google.com")
    expect(ann.get_by_test_id("card-search")).to_have_text(HOSTILE)
    ann.get_by_test_id("full-card-link").click()
    expect(ann.get_by_test_id("full-events").get_by_test_id("page-event").first).to_contain_text(title)
    assert_no_injection(ann)
    assert ann.locator("a[href^='javascript']").count() == 0
    close_all(shop, ann)


def test_the_visitor_card_shows_utm_language_session_events_and_a_verified_shop_user_id(stack, browser):
    # The stack runs with the tests' PARLEY_SECRET, so the site's identity secret is known here.
    from chalicelib.visitors.tracking import identity_hash, site_secret

    t = token()
    shop = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    with shop.expect_websocket() as connected:
        shop.goto(stack.shop_url.rstrip("/") + f"/cart.html?utm_source=newsletter&utm_campaign=spring-{t}")
    socket = connected.value
    with socket.expect_event("framereceived", lambda payload: '"identified"' in payload) as answer:
        shop.evaluate("([id, hash]) => Parley.identify({id, hash})",
                      [f"user-{t}", identity_hash(site_secret(stack.site_id), f"user-{t}")])
    assert json.loads(answer.value)["verified"] is True
    shop.get_by_test_id("parley-launcher").click()
    say(shop, f"card facts {t}")

    ann = console(browser, stack)
    open_dialog(ann, f"card facts {t}")
    expect(ann.get_by_test_id("card-utm")).to_have_text(f"source: newsletter · campaign: spring-{t}")
    expect(ann.get_by_test_id("card-language")).to_have_text(re.compile(r"^[a-z]{2}"))
    expect(ann.get_by_test_id("card-session")).not_to_be_empty()
    event = ann.get_by_test_id("card-events").get_by_test_id("card-event").filter(has_text="added_to_cart")
    expect(event).to_contain_text("added_to_cart ×1")
    expect(event).to_contain_text("value: 40.5")
    expect(ann.get_by_test_id("card-external-id")).to_contain_text(f"user-{t}")
    expect(ann.get_by_test_id("card-verified")).to_be_visible()
    ann.get_by_test_id("full-card-link").click()
    expect(ann.get_by_test_id("full-events").get_by_test_id("custom-event").filter(has_text="added_to_cart")).to_contain_text("value: 40.5")
    close_all(shop, ann)


def test_blocking_and_unblocking_from_the_monitor_the_block_list_and_the_card(stack, browser):
    t = token()
    ann = console(browser, stack)
    shop = shop_page(browser, stack, f"product.html?b={t}")
    shop.get_by_test_id("parley-launcher").click()
    say(shop, f"please block me {t}")

    # The monitor: asked first; then the visitor's sockets close, so they leave the list, and
    # their next page is refused.
    go(ann, "visitors")
    found = ann.get_by_test_id("monitor-row").filter(has_text=f"b={t}")
    expect(found).to_have_count(1)
    visitor_id = found.get_attribute("data-visitor-id")
    found.get_by_test_id("monitor-dialog").click()  # they are in a dialog: it opens
    expect(ann.get_by_test_id("nav-dialogs")).to_have_attribute("aria-current", "page")
    expect(ann.get_by_test_id("feed-message").filter(has_text=f"please block me {t}")).to_have_count(1)
    go(ann, "visitors")
    found.get_by_test_id("monitor-block").click()
    found.get_by_test_id("monitor-block-cancel").click()
    assert not sent(ann, "block_add")
    found.get_by_test_id("monitor-block").click()
    found.get_by_test_id("monitor-block-confirm").click()
    expect(found).to_have_count(0)
    assert sent(ann, "block_add")[-1]["block"]["kind"] == "visitor"
    assert sent(ann, "block_add")[-1]["block"]["value"] == visitor_id
    with shop.expect_response(lambda r: "/api/visitor/session" in r.url) as refused:
        shop.reload()
    assert refused.value.status == 403

    # The block list shows them; unblocking lets them back.
    go(ann, "proactive")
    block = ann.get_by_test_id("block-row").filter(has=ann.get_by_test_id("block-value").filter(has_text=visitor_id))
    expect(block).to_have_count(1)
    expect(block).to_contain_text("visitor")
    block.get_by_test_id("block-remove").click()
    expect(block).to_have_count(0)
    with shop.expect_response(lambda r: "/api/visitor/session" in r.url) as allowed:
        shop.reload()
    assert allowed.value.status == 200
    go(ann, "visitors")
    expect(found).to_have_count(1)

    # The visitor card: block, then unblock.
    go(ann, "dialogs")
    open_dialog(ann, f"please block me {t}")
    ann.get_by_test_id("card-block").click()
    ann.get_by_test_id("card-block-confirm").click()
    expect(ann.get_by_test_id("card-blocked")).to_be_visible()
    assert sent(ann, "block_add")[-1]["block"]["value"] == visitor_id
    ann.get_by_test_id("card-unblock").click()
    expect(ann.get_by_test_id("card-block")).to_be_visible()

    # The add form: a country, upper-cased; a refused value shows the server's message.
    go(ann, "proactive")
    ann.get_by_test_id("block-kind").select_option("country")
    ann.get_by_test_id("block-value-input").fill("kp")
    ann.get_by_test_id("block-note").fill(f"note {t}")
    ann.get_by_test_id("block-add").click()
    country = ann.get_by_test_id("block-row").filter(has_text=f"note {t}")
    expect(country).to_have_count(1)
    expect(country.get_by_test_id("block-value")).to_have_text("KP")
    expect(ann.get_by_test_id("block-value-input")).to_have_value("")
    ann.get_by_test_id("block-kind").select_option("ip")
    ann.get_by_test_id("block-value-input").fill("not an address")
    ann.get_by_test_id("block-add").click()
    expect(ann.get_by_test_id("block-error")).not_to_be_empty()
    country.get_by_test_id("block-remove").click()
    expect(country).to_have_count(0)
    close_all(shop, ann)


def test_a_segment_made_in_the_editor_filters_the_dialog_list_and_shows_on_card_and_monitor(stack, browser):
    t = token()
    ann = console(browser, stack)
    go(ann, "proactive")
    ann.get_by_test_id("segment-new").click()
    form = ann.get_by_test_id("segment-form")
    form.get_by_test_id("segment-form-name").fill(f"Campaign {t}")
    fill_condition(form.get_by_test_id("cond-row").nth(0), "visited_url", "contains", f"seg={t}")
    form.get_by_test_id("segment-save").click()
    expect(form).to_have_count(0)
    segment = ann.get_by_test_id("segment-row").filter(has_text=f"Campaign {t}")
    expect(segment).to_contain_text(f"visited url contains “seg={t}”")
    segment_id = segment.get_attribute("data-segment-id")

    # Two pages, the first one left before the second opens: a new visitor's first page view does
    # not compute segments, and a tab's close racing the next page's view can mark the visitor
    # gone while on that page (two server bugs, reported; this goes around them).
    go(ann, "visitors")
    member = shop_page(browser, stack, f"product.html?seg={t}")
    live = ann.get_by_test_id("monitor-row").filter(has_text=f"seg={t}")
    expect(live).to_have_count(1)
    member.goto("about:blank")
    expect(live).to_have_count(0)
    member.goto(stack.shop_url.rstrip("/") + f"/cart.html?seg={t}")
    expect(live.get_by_test_id("monitor-segments")).to_contain_text(f"Campaign {t}")
    member.get_by_test_id("parley-launcher").click()
    say(member, f"member {t}")
    other = shop_page(browser, stack, f"product.html?not={t}")
    other.get_by_test_id("parley-launcher").click()
    say(other, f"outsider {t}")

    go(ann, "dialogs")
    rows = ann.get_by_test_id("dialog-row")
    expect(rows.filter(has_text=f"outsider {t}")).to_have_count(1)
    ann.get_by_test_id("filter-segment").select_option(segment_id)
    expect(rows.filter(has_text=f"outsider {t}")).to_have_count(0)
    expect(rows.filter(has_text=f"member {t}")).to_have_count(1)
    assert sent(ann, "subscribe")[-1] == {"type": "subscribe", "status": "open", "segment": segment_id}
    open_dialog(ann, f"member {t}")
    expect(ann.get_by_test_id("card-segments").get_by_test_id("card-segment")).to_contain_text([f"Campaign {t}"])

    # Deleting the segment filtered by: the list goes back to all segments.
    go(ann, "proactive")
    delete_row(segment, "segment")
    go(ann, "dialogs")
    expect(ann.get_by_test_id("filter-segment")).to_have_value("")
    expect(rows.filter(has_text=f"outsider {t}")).to_have_count(1)
    close_all(member, other, ann)


def test_a_trigger_that_fires_greets_the_visitor_counts_as_shown_and_warns_at_low_acceptance(stack, browser):
    t = token()
    ann = console(browser, stack)
    go(ann, "proactive")
    ann.get_by_test_id("trigger-new").click()
    form = ann.get_by_test_id("trigger-form")
    form.get_by_test_id("trigger-form-name").fill(f"Welcome {t}")
    fill_condition(form.get_by_test_id("cond-row").nth(0), "url", "contains", f"greet={t}")
    form.get_by_test_id("action-text").fill(f"Welcome to {{site.name}}! {t}")
    form.get_by_test_id("trigger-save").click()
    found = ann.get_by_test_id("trigger-row").filter(has_text=f"Welcome {t}")
    expect(found).to_have_count(1)
    try:
        shop = shop_page(browser, stack, f"product.html?greet={t}")
        expect(shop.get_by_test_id("parley-greeting")).to_contain_text(f"Welcome to Parley Demo Shop! {t}")
        # A `greeted` frame makes the view ask for the statistics again (at most every 10 s).
        expect(found.get_by_test_id("trigger-stats")).to_contain_text("shown 1 · held out 0 · accepted 0", timeout=20000)
        expect(found.get_by_test_id("trigger-acceptance")).to_have_text("acceptance 0.0 %")
        expect(found.get_by_test_id("trigger-warning")).to_be_visible()
        expect(found.get_by_test_id("trigger-uplift")).to_contain_text("held out n/a (0 of 0)")
        shop.context.close()
    finally:
        delete_row(found, "trigger")
    close_all(ann)


def test_site_settings_are_saved_and_seen_by_another_operator(stack, browser):
    t = token()
    ann = console(browser, stack)
    bob = operator(browser, stack, stack.operator2_email)
    go(ann, "proactive")
    go(bob, "proactive")
    before = {k: v for k, v in raw(ann, {"type": "proactive"})["settings"].items() if k in SETTINGS}
    try:
        ann.get_by_test_id("settings-timezone").fill("Europe/Berlin")
        ann.get_by_test_id("settings-always-open").uncheck()
        ann.get_by_test_id("settings-hours-mon").fill("9:00-18:00, 19:00-21:00")
        ann.get_by_test_id("settings-hours-tue").fill("09:00-17:30")
        ann.get_by_test_id("settings-hours-wed").fill("9-18")
        ann.get_by_test_id("settings-save").click()
        expect(ann.get_by_test_id("settings-error")).to_contain_text("Wednesday")
        assert not sent(ann, "settings_save")
        ann.get_by_test_id("settings-hours-wed").fill("")
        ann.get_by_test_id("settings-goal").fill(f"purchase_{t}")
        ann.get_by_test_id("settings-popups").select_option("2")
        ann.get_by_test_id("settings-cooldown").fill("30")
        ann.get_by_test_id("settings-save").click()
        expect(ann.get_by_test_id("settings-status")).to_have_text("Saved.")
        settings = sent(ann, "settings_save")[-1]["settings"]
        assert settings["hours"] == {"mon": [["09:00", "18:00"], ["19:00", "21:00"]], "tue": [["09:00", "17:30"]],
                                     "wed": [], "thu": [], "fri": [], "sat": [], "sun": []}
        assert settings["popups_per_session"] == 2 and settings["cooldown_minutes"] == 30

        expect(bob.get_by_test_id("settings-timezone")).to_have_value("Europe/Berlin")
        expect(bob.get_by_test_id("settings-always-open")).not_to_be_checked()
        expect(bob.get_by_test_id("settings-hours-mon")).to_have_value("09:00-18:00, 19:00-21:00")
        expect(bob.get_by_test_id("settings-hours-wed")).to_have_value("")
        expect(bob.get_by_test_id("settings-goal")).to_have_value(f"purchase_{t}")
        expect(bob.get_by_test_id("settings-popups")).to_have_value("2")
        expect(bob.get_by_test_id("settings-cooldown")).to_have_value("30")
        bob.get_by_test_id("settings-always-open").check()
        expect(bob.get_by_test_id("settings-hours-mon")).to_be_disabled()
        bob.get_by_test_id("settings-save").click()
        expect(ann.get_by_test_id("settings-always-open")).to_be_checked()
        expect(ann.get_by_test_id("settings-hours-mon")).to_have_value("")
    finally:
        answer = raw(ann, {"type": "settings_save", "settings": before})
        assert answer["type"] == "proactive", answer
    close_all(ann, bob)
