"""What every table module shares: the table settings (stage prefix), conditional writes
that answer False instead of raising, and the opaque list cursors. Each table module is one
file (model, indexes, access patterns; docs/data-model.md); each function is one DynamoDB
request unless its docstring says otherwise, and none is a Scan."""
from __future__ import annotations

import base64
import json
from typing import Any

from pynamodb.attributes import MapAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.shared.config import settings


class AuthorAttribute(MapAttribute):
    kind = UnicodeAttribute()
    id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)


class _Meta:
    region = settings.region
    host = settings.aws_endpoint
    billing_mode = "PAY_PER_REQUEST"


def table_meta(name: str) -> Any:
    return type("Meta", (_Meta,), {"table_name": settings.table_name(name)})

READ_PAGES = 5  # a filtered list reads at most this many pages before it answers with a cursor
FILTERED_PAGE = 200  # items a filtered list reads per request


def condition_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def conditional_put(item: Any, condition: Condition | None) -> bool:
    """PutItem with a condition; False when the condition does not hold."""
    try:
        item.save(condition=condition)
        return True
    except PutError as exc:
        if condition is not None and condition_failed(exc):
            return False
        raise


def conditional_update(item: Any, actions: list[Any], condition: Condition) -> bool:
    """UpdateItem with a condition; False when the condition does not hold. Every write of a
    dialog bumps its `version`: summaries pushed by concurrent handlers can arrive out of
    order, and clients keep the one with the highest version."""
    if getattr(item, "BUMPS_VERSION", False):
        actions = [*actions, type(item).version.add(1)]
    try:
        item.update(actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if condition_failed(exc):
            return False
        raise


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, hash_name: str, partition: str) -> dict[str, Any] | None:
    """The key a cursor stands for; a cursor into another partition (forged) starts afresh."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if key[hash_name] != {"S": partition}:
            return None
    except (ValueError, TypeError, KeyError):
        return None
    return key
