"""A real headless Chromium (Debian's) on the demo shop and the console, driven by Playwright."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("someone_online")  # else the widget offers the offline form


def sign_in(page, stack):
    page.goto(stack.console_url)
    page.get_by_test_id("login-email").fill(stack.operator_email)
    page.get_by_test_id("login-password").fill(stack.operator_password)
    page.get_by_test_id("login-submit").click()


def test_visitor_and_operator_chat_in_real_browsers(stack, browser):
    shop = browser.new_context().new_page()
    shop.goto(stack.shop_url.rstrip("/") + "/product.html")
    shop.get_by_test_id("parley-launcher").click()
    hostile = 'Is this <img src=x onerror="window.pwned=1"> in stock?'
    shop.get_by_test_id("parley-input").fill(hostile)
    shop.get_by_test_id("parley-input").press("Enter")
    shop.locator('[data-testid="parley-message"][data-seq]').first.wait_for()

    console = browser.new_context().new_page()
    sign_in(console, stack)
    row = console.get_by_test_id("dialog-row").filter(has_text="in stock")
    row.first.click()
    feed = console.get_by_test_id("feed-message").filter(has_text="onerror")
    feed.first.wait_for()
    assert hostile in feed.first.inner_text()
    assert console.locator("img[src='x']").count() == 0
    assert console.evaluate("window.pwned") is None

    operator_text = 'Yes, we have 12 in stock. <img src=y onerror="window.pwned=2"><b>bold</b>'
    console.get_by_test_id("reply-input").fill(operator_text)
    console.get_by_test_id("reply-input").press("Enter")
    reply = shop.locator('[data-testid="parley-message"][data-author="operator"]').filter(
        has_text="Yes, we have 12 in stock.")
    reply.first.wait_for(timeout=10000)
    assert operator_text in reply.first.inner_text()  # shown as typed, markup and all
    assert shop.locator("img[src='y']").count() == 0 and shop.locator("b", has_text="bold").count() == 0
    assert shop.evaluate("window.pwned") is None
    shop.context.close()
    console.context.close()


def test_widget_remembers_the_visitor_across_a_reload(stack, browser):
    page = browser.new_context().new_page()
    page.goto(stack.shop_url.rstrip("/") + "/index.html")
    page.get_by_test_id("parley-launcher").click()
    page.get_by_test_id("parley-input").fill("Remember this after a reload")
    page.get_by_test_id("parley-send").click()
    page.locator('[data-testid="parley-message"][data-seq]').first.wait_for()
    page.goto(stack.shop_url.rstrip("/") + "/cart.html")
    page.get_by_test_id("parley-launcher").click()
    kept = page.locator('[data-testid="parley-message"][data-seq]').filter(has_text="Remember this after a reload")
    kept.first.wait_for(timeout=10000)
    assert kept.count() == 1
    page.context.close()


def test_widget_fits_a_360px_phone(stack, browser):
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(stack.shop_url.rstrip("/") + "/pricing.html")
    page.get_by_test_id("parley-launcher").click()
    box_input = page.get_by_test_id("parley-input").bounding_box()
    box_send = page.get_by_test_id("parley-send").bounding_box()
    for box in (box_input, box_send):
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert box["y"] >= 0 and box["y"] + box["height"] <= 640
    context.close()


def _visitor_connections(stack, token: str) -> list[str]:
    """The visitor's open websocket ids, read from the connections table in moto."""
    import base64
    import json

    import boto3

    payload = token.split(".")[1]
    visitor_id = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["s"]
    table = boto3.resource("dynamodb", endpoint_url=stack.moto_url, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing").Table(
        "parley-local-connections")
    found = table.query(IndexName="channel-index", KeyConditionExpression="channel = :c",
                        ExpressionAttributeValues={":c": f"vis#{visitor_id}"})
    return [item["connection_id"] for item in found["Items"]]


def test_widget_reconnects_after_the_server_drops_it_and_shows_each_message_once(stack, browser):
    import boto3

    shop = browser.new_context().new_page()
    shop.goto(stack.shop_url.rstrip("/") + "/product.html")
    shop.get_by_test_id("parley-launcher").click()
    shop.get_by_test_id("parley-input").fill("first, before the drop")
    shop.get_by_test_id("parley-input").press("Enter")
    shop.locator('[data-testid="parley-message"][data-seq]').first.wait_for()

    console = browser.new_context().new_page()
    sign_in(console, stack)
    console.get_by_test_id("dialog-row").filter(has_text="before the drop").first.click()
    console.get_by_test_id("feed-message").filter(has_text="before the drop").first.wait_for()

    token = shop.evaluate("localStorage.getItem('parley:demo:token')")
    gateway = boto3.client("apigatewaymanagementapi", endpoint_url=f"{stack.mgmt_url}/local",
                           region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    dropped = _visitor_connections(stack, token)
    assert dropped, "the widget's connection should be known before the drop"
    for connection_id in dropped:
        gateway.delete_connection(ConnectionId=connection_id)  # the server side closes the socket
    console.get_by_test_id("reply-input").fill("sent while the widget was cut off")
    console.get_by_test_id("reply-input").press("Enter")
    shop.get_by_test_id("parley-input").fill("second, typed during the drop")
    shop.get_by_test_id("parley-input").press("Enter")

    expected = ["first, before the drop", "sent while the widget was cut off", "second, typed during the drop"]
    for text in expected:
        shop.locator('[data-testid="parley-message"][data-seq]').filter(has_text=text).first.wait_for(timeout=15000)
        console.get_by_test_id("feed-message").filter(has_text=text).first.wait_for(timeout=15000)
    shop.wait_for_timeout(500)
    shown = shop.locator('[data-testid="parley-message"][data-seq]').all_inner_texts()
    for text in expected:
        assert sum(text in item for item in shown) == 1, shown
    feed = console.get_by_test_id("feed-message").all_inner_texts()
    for text in expected:
        assert sum(text in item for item in feed) == 1, feed
    assert set(_visitor_connections(stack, token)) - set(dropped), "the widget reconnected"
    shop.context.close()
    console.context.close()


def test_widget_works_by_keyboard_alone_with_named_controls(stack, browser):
    page = browser.new_context().new_page()
    page.goto(stack.shop_url.rstrip("/") + "/pricing.html")
    launcher = page.get_by_role("button", name="Open chat")
    launcher.focus()
    page.keyboard.press("Enter")
    assert launcher.get_attribute("aria-expanded") == "true"
    message_box = page.get_by_role("textbox", name="Message")
    assert message_box.evaluate("el => el === el.getRootNode().activeElement")  # focus moved into the panel
    page.keyboard.type("Typed with the keyboard only")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.press("Enter")
    sent = page.locator('[data-testid="parley-message"][data-seq]').filter(has_text="second line")
    sent.first.wait_for()
    assert "Typed with the keyboard only\nsecond line" in sent.first.inner_text()
    assert page.get_by_role("button", name="Close chat").count() == 1
    page.keyboard.press("Escape")
    assert launcher.get_attribute("aria-expanded") == "false"
    page.context.close()


def _behind_a_stage_prefix(context, stack, stage: str = "/api") -> list[str]:
    """Make the Parley origin look like API Gateway's default host: only ``<stage>/...`` exists
    (forwarded to the stack without the stage), anything else is API Gateway's 403. The websocket
    is not intercepted, and Playwright answers CORS preflights of routed requests itself, so CORS
    is not what this checks. Returns the URLs that missed the stage."""
    missed: list[str] = []

    def forward(route) -> None:
        path = route.request.url[len(stack.parley_url):]
        if path.startswith(stage + "/"):
            route.continue_(url=stack.parley_url + path[len(stage):])
        else:
            missed.append(route.request.url)
            route.fulfill(status=403, body='{"message":"Missing Authentication Token"}')

    context.route(stack.parley_url + "/**", forward)
    return missed


def test_console_and_widget_work_under_an_api_gateway_stage_prefix(stack, browser):
    context = browser.new_context()
    missed = _behind_a_stage_prefix(context, stack)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(stack.parley_url + "/api/console/index.html")  # (routes miss redirects: see test_web.py)
    page.get_by_test_id("login-email").fill(stack.operator_email)
    page.get_by_test_id("login-password").fill(stack.operator_password)
    page.get_by_test_id("login-submit").click()
    page.locator("#conn.on").wait_for(timeout=10000)  # signed in (via <stage>/api/...) and connected

    shop = context.new_page()
    shop.goto(stack.shop_url.rstrip("/") + "/product.html")  # its own widget tag misses the stage: 403
    shop.evaluate("""src => { const s = document.createElement('script');
        s.src = src; s.dataset.site = 'demo'; document.body.append(s) }""", stack.parley_url + "/api/widget/parley.js")
    shop.get_by_test_id("parley-launcher").click()
    shop.get_by_test_id("parley-input").fill("asked through a stage prefix")
    shop.get_by_test_id("parley-input").press("Enter")
    shop.locator('[data-testid="parley-message"][data-seq]').first.wait_for(timeout=10000)
    page.get_by_test_id("dialog-row").filter(has_text="through a stage prefix").first.wait_for(timeout=10000)
    assert missed == [stack.parley_url + "/widget/parley.js"]  # the shop's tag; nothing else missed the stage
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()
