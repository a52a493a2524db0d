"""Websocket protocol v1: parse and validate inbound frames, build outbound ones. Pure.

docs/protocol.md is the reference; keep the two in step.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import BadJson, Invalid, TooLarge, UnknownType

VERSION = "1"
MAX_FRAME_BYTES = 16 * 1024
MAX_TEXT_BYTES = 4096
MAX_TYPING_BYTES = 4096
HISTORY_PAGE = 200
DIALOG_PAGE = 50
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CURSOR = re.compile(r"^[A-Za-z0-9_=-]{1,512}$")

VISITOR_TYPES = frozenset({"resume", "message", "typing", "ping"})
OPERATOR_TYPES = frozenset({"subscribe", "history", "message", "typing", "ping"})


@dataclass(frozen=True)
class Frame:
    type: str
    dialog_id: str | None = None
    client_id: str | None = None
    text: str | None = None
    after_seq: int = 0
    cursor: str | None = None


def parse_frame(raw: str | None, role: str) -> Frame:
    """The validated frame, or a ParleyError saying what is wrong with it."""
    data = _load(raw)
    kind = data.get("type")
    allowed = VISITOR_TYPES if role == "visitor" else OPERATOR_TYPES
    if not isinstance(kind, str) or kind not in allowed:
        raise UnknownType(f"unknown frame type {str(kind)[:40]!r} for a {role}")
    client_id = _optional_client_id(data) if kind == "message" else None
    try:
        return _PARSERS[kind](data, role, client_id)
    except Invalid as exc:
        exc.client_id = client_id
        raise


def _load(raw: str | None) -> dict[str, Any]:
    if raw is None:
        raise BadJson("empty frame")
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        raise TooLarge(f"frame is over {MAX_FRAME_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadJson("frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadJson("frame must be a JSON object")
    return data


def _optional_client_id(data: dict[str, Any]) -> str | None:
    value = data.get("client_id")
    return value if isinstance(value, str) and _CLIENT_ID.match(value) else None


def _message(data: dict[str, Any], role: str, client_id: str | None) -> Frame:
    if client_id is None:
        raise Invalid("client_id must be 8-64 characters of A-Z a-z 0-9 _ -")
    text = _text(data.get("text"), client_id)
    dialog_id = _dialog_id(data) if role == "operator" else None
    return Frame("message", dialog_id=dialog_id, client_id=client_id, text=text)


def _text(value: Any, client_id: str | None) -> str:
    if not isinstance(value, str):
        raise Invalid("text must be a string")
    text = value.strip()
    if not text:
        raise Invalid("text is empty")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise TooLarge(f"text is over {MAX_TEXT_BYTES} bytes", client_id=client_id)
    if "\x00" in text:
        raise Invalid("text contains a NUL character")
    return text


def _typing(data: dict[str, Any], role: str, _: str | None) -> Frame:
    if role == "operator":
        return Frame("typing", dialog_id=_dialog_id(data))
    value = data.get("text", "")
    if not isinstance(value, str):
        raise Invalid("text must be a string")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_TYPING_BYTES:
        raise TooLarge(f"text is over {MAX_TYPING_BYTES} bytes")
    return Frame("typing", text=value)


def _resume(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("resume", after_seq=_after_seq(data))


def _history(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("history", dialog_id=_dialog_id(data), after_seq=_after_seq(data))


def _subscribe(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    cursor = data.get("cursor")
    if cursor is not None and not (isinstance(cursor, str) and _CURSOR.match(cursor)):
        raise Invalid("cursor is not one this server gave")
    return Frame("subscribe", cursor=cursor)


def _ping(_data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("ping")


def _dialog_id(data: dict[str, Any]) -> str:
    value = data.get("dialog_id")
    if not isinstance(value, str) or not _ID.match(value):
        raise Invalid("dialog_id is missing or malformed")
    return value


def _after_seq(data: dict[str, Any]) -> int:
    value = data.get("after_seq", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise Invalid("after_seq must be a non-negative integer")
    return value


_PARSERS = {
    "message": _message,
    "typing": _typing,
    "resume": _resume,
    "history": _history,
    "subscribe": _subscribe,
    "ping": _ping,
}


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def error_frame(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id:
        frame["client_id"] = client_id
    return frame
