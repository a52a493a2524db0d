"""Test configuration: settings are read at import, so the environment is set before any
chalicelib import. Handler tests run the real PynamoDB/boto3 code against moto in process."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.update({
    "PARLEY_STAGE": "test",
    "PARLEY_SECRET": "test-secret-not-for-production",
    "PARLEY_CONSOLE_ORIGINS": "https://console.example",
    "PARLEY_WS_URL": "wss://ws.example/test",
    # Email continuity, as a deploy with --inbound-domain mail.shop.example sets it.
    "PARLEY_INBOUND_DOMAIN": "mail.shop.example",
    "PARLEY_MAIL_FROM": "support@mail.shop.example",
    "PARLEY_PUBLIC_URL": "https://api.example",
    "PARLEY_MAIL_DELAY_SECONDS": "120",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
})
for name in ("PARLEY_AWS_ENDPOINT", "PARLEY_WS_ENDPOINT", "AWS_PROFILE"):
    os.environ.pop(name, None)

import pytest  # noqa: E402

from tests import iam_recorder  # noqa: E402

iam_recorder.install()  # every AWS call Lambda code makes in this run, for tests/infra/test_policy.py


KINDS = ("unit", "service", "stack", "browser", "infra")  # tests/<kind>/, markers in pytest.ini
TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked with its directory's kind, and `browser` wherever it opens Chromium
    (tests/stack/test_local_mail.py has one such test). The policy check runs last, so it sees
    the calls of every other test."""
    for item in items:
        kind = item.path.relative_to(TESTS).parts[0]
        if kind in KINDS:
            item.add_marker(kind)
        if "browser" in getattr(item, "fixturenames", ()) and kind != "browser":
            item.add_marker("browser")
    items.sort(key=lambda item: item.module.__name__.endswith("test_policy"))


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per test module; browser tests are skipped
    without it, except under CI, where .ci/run must have installed it."""
    from infra.local.chromium import CHROMIUM, launch

    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing under CI: .ci/run must install Debian's chromium", pytrace=False)
        pytest.skip("browser tests need Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch(playwright)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def stack():
    """The whole local stack (`python -m infra.local`) on free ports, as a user runs it."""
    from infra.local.stack import LocalStack

    with LocalStack() as running:
        yield running


@pytest.fixture(scope="module")
def someone_online(stack):
    """Ann's console open for a module's tests: with nobody online the widget shows the
    leave-a-message form instead of the chat (docs/routing.md)."""
    from infra.local.screenshots import OperatorSocket

    socket = OperatorSocket(stack)
    socket.request({"type": "presence", "status": "online"}, lambda f: f.get("type") == "team")
    yield socket
    socket.close()


@pytest.fixture
def operator(stack):
    """An operator's websocket on the session's local stack."""
    from infra.local.screenshots import OperatorSocket

    socket = OperatorSocket(stack)
    yield socket
    socket.close()
