#!/usr/bin/env python3
"""How long the console takes to show a long dialog, in a real Chromium on a local stack.

Starts a stack, writes dialogs of N messages over real websockets (a visitor and an operator
taking turns), signs in to the console and clicks each dialog once: the time from the click to
the moment the feed holds all N messages (measured inside the page: a MutationObserver stamps
performance.now()). Then clicks them again (already loaded). Prints one JSON line.

    python3 bench/open_dialog.py --messages 200 --dialogs 5
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.local.chromium import launch  # noqa: E402
from infra.local.client import Client, operator_login, visitor_session  # noqa: E402
from infra.local.stack import LocalStack  # noqa: E402

# Stamps the click, then the first moment the feed holds `want` stored messages.
WATCH = """([id, want]) => new Promise(resolve => {
  const row = document.querySelector(`[data-testid=dialog-row][data-dialog-id="${id}"]`);
  const count = () => document.querySelectorAll('[data-testid=feed-message][data-seq]').length;
  const start = performance.now();
  const done = () => { observer.disconnect(); resolve(performance.now() - start); };
  const observer = new MutationObserver(() => { if (count() >= want) done(); });
  observer.observe(document.body, {childList: true, subtree: true});
  row.click();
  if (count() >= want) done();
})"""


async def write_dialogs(stack: LocalStack, dialogs: int, messages: int) -> list[str]:
    origin = stack.shop_url.rstrip("/")
    login = await operator_login(stack.parley_url, stack.operator_email, stack.operator_password)
    operator = await Client.connect(stack.ws_url, login["token"], stack.parley_url)
    ids = []
    for number in range(dialogs):
        session = await visitor_session(stack.parley_url, stack.site_id, origin)
        visitor = await Client.connect(stack.ws_url, session["token"], origin)
        await visitor.request({"type": "resume", "after_seq": 0}, "history")
        dialog_id = (await visitor.message(f"Dialog {number}: hello, a question about my order"))["dialog_id"]
        for turn in range(1, messages):
            if turn % 2:
                await operator.message(f"Operator answer {turn}: let me check that for you.", dialog_id)
            else:
                await visitor.message(f"Visitor message {turn}: thanks, and one more thing…")
        await visitor.close()
        ids.append(dialog_id)
    await operator.close()
    return ids


def open_each(stack: LocalStack, ids: list[str], messages: int) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(stack.console_url)
        page.get_by_test_id("login-email").fill(stack.operator_email)
        page.get_by_test_id("login-password").fill(stack.operator_password)
        page.get_by_test_id("login-submit").click()
        for dialog_id in ids:
            page.locator(f'[data-testid=dialog-row][data-dialog-id="{dialog_id}"]').wait_for()
        cold = [page.evaluate(WATCH, [dialog_id, messages]) for dialog_id in ids]
        warm = [page.evaluate(WATCH, [dialog_id, messages]) for dialog_id in ids]
        browser.close()
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--dialogs", type=int, default=5)
    args = parser.parse_args()
    with LocalStack() as stack:
        ids = asyncio.run(write_dialogs(stack, args.dialogs, args.messages))
        cold, warm = open_each(stack, ids, args.messages)
    print(json.dumps({
        "messages_per_dialog": args.messages, "dialogs": args.dialogs,
        "open_ms_median": round(statistics.median(cold), 1), "open_ms_max": round(max(cold), 1),
        "reopen_ms_median": round(statistics.median(warm), 1), "reopen_ms_max": round(max(warm), 1),
    }))


if __name__ == "__main__":
    main()
