"""The checks every part of a site's setup shares: each takes a JSON value and the path it
is at, and returns the value or raises Invalid naming that path."""
from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from chalicelib.shared.errors import Invalid
from chalicelib.site.placeholders import check_placeholders

MAX_NAME = 80


ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


EVENT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def checked_object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Invalid(f"{path}: must be an object")
    return value


def checked_name(value: Any, path: str) -> str:
    name = " ".join(value.split()) if isinstance(value, str) else ""
    if not 1 <= len(name) <= MAX_NAME:
        raise Invalid(f"{path}: must be 1 to {MAX_NAME} characters")
    return name


def checked_text(value: Any, limit: int, path: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(text) <= limit:
        raise Invalid(f"{path}: must be 1 to {limit} characters")
    check_placeholders(text, path)
    return text


def checked_flag(doc: Mapping[str, Any], key: str, default: bool, path: str) -> bool:
    value = doc.get(key, default)
    if not isinstance(value, bool):
        raise Invalid(f"{path}: must be true or false")
    return value


def checked_bounded(value: Any, low: int, high: int, path: str) -> int:
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        value = int(value)  # read back from DynamoDB
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{path}: must be a whole number from {low} to {high}")
    return value


def shown(value: Any) -> str:
    return repr(value)[:40] if isinstance(value, (str, int, float, bool, type(None))) else type(value).__name__
