"""The `chat` fixture: app.py's handlers on moto in process, from the same seeded account in
every test.

Creating the tables and seeding (scrypt hashes of two passwords) is done once per module;
before each test the moto account is put back as it was right after the seed: DynamoDB's
items are restored, and every other service moto holds (S3, SES, the websocket connections'
frames) starts empty again, with the data bucket. Restoring works on moto's own state, not
through the API, so the IAM recorder (tests/iam_recorder.py) never sees it.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict
from moto.dynamodb.models import dynamodb_backends
from moto.s3.models import s3_backends

from tests.moto_chat import MotoChat

REGION = "us-east-1"


@dataclass(frozen=True)
class SeededAccount:
    """The moto account just after create_tables and the seed: each table's items, the buckets."""

    table_items: dict[str, Any]
    buckets: tuple[str, ...]

    @classmethod
    def capture(cls) -> SeededAccount:
        tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables
        return cls({name: copy.deepcopy(table.items) for name, table in tables.items()},
                   tuple(s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets))

    def restore(self) -> None:
        tables = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables
        for name in set(tables) - set(self.table_items):
            del tables[name]
        for name, items in self.table_items.items():
            tables[name].items = copy.deepcopy(items)
        for backends in list(BackendDict._instances):
            if backends is not dynamodb_backends:
                for account in backends.values():
                    account.reset()
        s3 = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        for bucket in self.buckets:
            s3.create_bucket(bucket, REGION)


@pytest.fixture(scope="module")
def seeded_account() -> Iterator[SeededAccount]:
    """A moto account for the module, with the demo site and two operators."""
    from moto import mock_aws

    with mock_aws():
        from chalicelib import admin

        admin.create_tables()
        admin.seed_demo(["https://shop.example"], "ann@demo.shop", "pw-ann-123")
        admin.seed_demo(["https://other.example"], "olga@other.shop", "pw-olga-123",
                        site_id="other", operator_name="Olga")
        yield SeededAccount.capture()


@pytest.fixture
def chat(seeded_account: SeededAccount) -> MotoChat:
    """The app's handlers on the module's moto account, as it was right after the seed."""
    seeded_account.restore()
    return MotoChat()
