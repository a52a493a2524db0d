"""A real headless Chromium (Debian's) on the demo shop and the console, driven by Playwright."""
from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI") == "true":
        pytest.fail("Chromium is missing under CI: .ci/run must install Debian's chromium", pytrace=False)
    pytest.skip("browser tests need Debian's chromium: apt-get install chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


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
    assert feed.first.inner_text().strip().endswith(hostile) or hostile in feed.first.inner_text()
    assert console.locator("img[src='x']").count() == 0
    assert console.evaluate("window.pwned") is None

    console.get_by_test_id("reply-input").fill("Yes, we have 12 in stock.")
    console.get_by_test_id("reply-input").press("Enter")
    reply = shop.locator('[data-testid="parley-message"][data-author="operator"]').filter(
        has_text="Yes, we have 12 in stock.")
    reply.first.wait_for(timeout=10000)
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
