"""Checkers for the fields inbound frames share: each returns the clean value or raises Invalid."""
from __future__ import annotations

import re
from typing import Any

from chalicelib.dialogs import files
from chalicelib.protocol.frame import (
    MAX_COMMENT_CHARS,
    MAX_EVENT_PROPS,
    MAX_PROP_CHARS,
    MAX_TAG_CHARS,
    MAX_TEXT_BYTES,
    FileRef,
)
from chalicelib.shared.errors import Invalid, TooLarge

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CURSOR = re.compile(r"^[A-Za-z0-9_=-]{1,512}$")
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def is_id(value: str) -> bool:
    """An id as ids are everywhere: 1 to 64 of A-Z a-z 0-9 _ -."""
    return bool(_ID.match(value))


def is_event_name(value: str) -> bool:
    """A tracked event's name, or a key of its props: 1 to 64 of A-Z a-z 0-9 _ . : -."""
    return bool(_EVENT_NAME.match(value))


def optional_client_id(data: dict[str, Any]) -> str | None:
    value = data.get("client_id")
    return value if isinstance(value, str) and _CLIENT_ID.match(value) else None


def file_ref(value: Any) -> FileRef | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("key"), str) or len(value["key"]) > 256:
        raise Invalid("file must be {key, name} from an upload")
    return FileRef(value["key"], files.clean_name(value.get("name")))


def text(value: Any, client_id: str | None, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid("text must be a string")
    stripped = value.strip()
    if not stripped and not allow_empty:
        raise Invalid("text is empty")
    if len(stripped.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise TooLarge(f"text is over {MAX_TEXT_BYTES} bytes", client_id=client_id)
    if "\x00" in stripped:
        raise Invalid("text contains a NUL character")
    return stripped


def clean_tag(value: Any) -> str:
    """A tag as typed, white space collapsed: 1 to 40 characters, no control characters."""
    if not isinstance(value, str):
        raise Invalid("tag must be a string")
    tag = " ".join(value.split())
    if not tag:
        raise Invalid("tag is empty")
    if len(tag) > MAX_TAG_CHARS:
        raise Invalid(f"a tag is at most {MAX_TAG_CHARS} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in tag):
        raise Invalid("a tag cannot contain control characters")
    return tag


def plain(value: Any, limit: int, name: str) -> str:
    """An optional one-line string field: white space collapsed, at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    collapsed = " ".join(value.split())
    if len(collapsed) > limit or any(ord(ch) < 32 for ch in collapsed):
        raise Invalid(f"{name} is at most {limit} characters")
    return collapsed


def comment(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > MAX_COMMENT_CHARS:
        raise Invalid(f"comment is at most {MAX_COMMENT_CHARS} characters")
    return value.strip()


def cursor(data: dict[str, Any]) -> str | None:
    value = data.get("cursor")
    if value is not None and not (isinstance(value, str) and _CURSOR.match(value)):
        raise Invalid("cursor is not one this server gave")
    return value


def props(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_EVENT_PROPS:
        raise Invalid(f"props must be an object of at most {MAX_EVENT_PROPS} keys")
    for key, item in value.items():
        if not _EVENT_NAME.match(key):
            raise Invalid(f"props key {key[:40]!r}: 1 to 64 of A-Z a-z 0-9 _ . : -")
        if isinstance(item, float) and item != item or item in (float("inf"), float("-inf")):
            raise Invalid(f"props.{key} must be a finite number")
        if not isinstance(item, (bool, int, float, str)) or (isinstance(item, str) and len(item) > MAX_PROP_CHARS):
            raise Invalid(f"props.{key} must be a number, a boolean or a string of at most {MAX_PROP_CHARS} characters")
    return dict(value)


def dialog_id(data: dict[str, Any]) -> str:
    return id_field(data, "dialog_id")


def id_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not _ID.match(value):
        raise Invalid(f"{name} is missing or malformed")
    return value


def after_seq(data: dict[str, Any]) -> int:
    value = data.get("after_seq", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise Invalid("after_seq must be a non-negative integer")
    return value
