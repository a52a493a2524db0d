#!/usr/bin/env python3
"""DynamoDB requests of a visitor's first and second message, counted exactly, in process on moto.

An operator is online, a visitor opens a session, connects and resumes; then two messages. Every
DynamoDB call the handlers make (through botocore, as on AWS) is counted per message. Prints one
JSON line. Budget (DEVELOPERS.md): <= 15 for a dialog's first message, <= 3 for the next.

    .venv/bin/python bench/ddb_steps.py
"""
from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tests.conftest  # noqa: E402,F401  (the test environment: settings are read at import)


@contextmanager
def counting() -> Iterator[list[str]]:
    """Every DynamoDB operation called inside the block, in order."""
    import botocore.client

    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(self: Any, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb":
            calls.append(operation)
        return original(self, operation, params)

    botocore.client.BaseClient._make_api_call = spy  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


def main() -> None:
    from moto import mock_aws

    with mock_aws(), counting() as calls:
        from chalicelib import admin
        from tests.moto_chat import CONSOLE, SHOP, MotoChat

        admin.create_tables()
        admin.seed_demo([SHOP], "ann@demo.shop", "pw-ann-123")
        chat = MotoChat()
        _, console = chat.connect(chat.operator_token()["body"]["token"], CONSOLE)
        chat.send(console, {"type": "presence", "status": "online"})
        _, tab = chat.connect(chat.visitor_token()["body"]["token"], SHOP)
        chat.send(tab, {"type": "resume", "after_seq": 0})
        counts = []
        for client_id in ("cid-first-0001", "cid-second-002"):
            calls.clear()
            chat.send(tab, {"type": "message", "client_id": client_id, "text": "hello there"})
            counts.append(len(calls))
    print(json.dumps({"bench": "ddb_steps", "first_message": counts[0], "next_message": counts[1],
                      "budget_first": 15, "budget_next": 3}))


if __name__ == "__main__":
    main()
