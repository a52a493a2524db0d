"""Websocket protocol v1: parse and validate inbound frames, build outbound ones. Pure.

docs/protocol.md is the reference; keep the two in step.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.dialogs import files
from chalicelib.shared.errors import (
    BadJson,
    Invalid,
    ParleyError,
    TooLarge,
    UnknownType,
)
from chalicelib.visitors.cards import is_email

VERSION = "1"
MAX_FRAME_BYTES = 16 * 1024
MAX_TEXT_BYTES = 4096
MAX_TYPING_BYTES = 4096
HISTORY_PAGE = 200
MAX_SEQ = 10**9
DIALOG_PAGE = 50
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
def is_id(value: str) -> bool:
    """An id as ids are everywhere: 1 to 64 of A-Z a-z 0-9 _ -."""
    return bool(_ID.match(value))


_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_CURSOR = re.compile(r"^[A-Za-z0-9_=-]{1,512}$")
MAX_TAG_CHARS = 40
MAX_SHORTCUT_CHARS = 40
STATUSES = ("open", "closed")

MAX_EVENT_PROPS = 20
MAX_PROP_CHARS = 256
MAX_INVITE_CHARS = 500
_EVENT_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_GREETING_ID = re.compile(r"^[A-Za-z0-9_#.-]{1,160}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")

VISITOR_TYPES = frozenset({"resume", "message", "upload", "typing", "ping", "track", "identify", "check", "read",
                           "availability", "queue", "leave_message", "handoff", "rate"})
OPERATOR_TYPES = frozenset({
    "workspace", "subscribe", "history", "message", "upload", "typing", "ping",
    "tag_add", "tag_remove", "close", "reopen", "assign",
    "visitor", "visitor_update", "visitor_events", "template_save", "template_delete",
    "monitor", "invite", "proactive", "trigger_save", "trigger_delete", "segment_save",
    "segment_delete", "block_add", "block_remove", "settings_save",
    "team", "presence", "cap_set", "transfer",
})
MAX_COMMENT_CHARS = 1000
MAX_NAME_CHARS = 100
MAX_KEYWORDS_CHARS = 300
PRESENCES = ("online", "away", "offline")
SCORES = ("good", "bad")
# Operator frames carrying a document checked by chalicelib.triggers: frame type -> its field.
DOCUMENT_FIELDS = {"trigger_save": "trigger", "segment_save": "segment", "block_add": "block",
                   "settings_save": "settings"}
ID_FIELDS = {"trigger_delete": "trigger_id", "segment_delete": "segment_id", "block_remove": "block_id"}


@dataclass(frozen=True)
class FileRef:
    key: str
    name: str


@dataclass(frozen=True)
class Frame:
    type: str
    dialog_id: str | None = None
    client_id: str | None = None
    text: str | None = None
    after_seq: int = 0
    cursor: str | None = None
    note: bool = False
    file: FileRef | None = None
    upload: files.Upload | None = None
    status: str = "open"
    assignee: str | None = None  # "me", "none" or an operator id (subscribe filter)
    tag: str | None = None
    operator_id: str | None = None  # assign: None unassigns
    visitor_id: str | None = None
    edits: dict[str, Any] | None = None  # visitor_update: the raw fields, checked by visitors
    template_id: str | None = None
    shortcut: str | None = None
    segment: str | None = None  # subscribe filter
    name: str | None = None  # track: the event's name
    props: dict[str, Any] | None = None  # track: the event's properties
    typing: bool = False  # track, check: the visitor is typing right now
    identity: dict[str, str] | None = None  # identify: id, email, name, hash, source
    greeting_id: str | None = None  # message: the greeting this message answers
    doc: dict[str, Any] | None = None  # trigger_save, segment_save, block_add, settings_save
    item_id: str | None = None  # trigger_delete, segment_delete, block_remove
    seq: int = 0  # read: the visitor saw the dialog's messages up to this seq
    cap: Any = None  # cap_set: 1..20 or None (checked by routing.check_cap)
    comment: str | None = None  # transfer, rate
    email: str | None = None  # leave_message
    score: str | None = None  # rate: "good" | "bad"
    faq: bool = False  # template_save
    keywords: str | None = None  # template_save


def parse_frame(raw: str | None, role: str) -> Frame:
    """The validated frame, or a ParleyError saying what is wrong with it."""
    data = _load(raw)
    kind = data.get("type")
    allowed = VISITOR_TYPES if role == "visitor" else OPERATOR_TYPES
    if not isinstance(kind, str) or kind not in allowed:
        raise UnknownType(f"unknown frame type {str(kind)[:40]!r} for a {role}")
    client_id = _optional_client_id(data) if kind in ("message", "upload", "leave_message") else None
    try:
        return _PARSERS[kind](data, role, client_id)
    except ParleyError as exc:
        exc.client_id = exc.client_id or client_id
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
    file = _file_ref(data.get("file"))
    text = _text(data.get("text", "" if file else None), client_id, allow_empty=file is not None)
    dialog_id = _dialog_id(data) if role == "operator" else None
    note = role == "operator" and data.get("note") is True
    if note and file:
        raise Invalid("a note cannot carry a file")
    greeting_id = data.get("greeting_id") if role == "visitor" else None
    if greeting_id is not None and not (isinstance(greeting_id, str) and _GREETING_ID.match(greeting_id)):
        raise Invalid("greeting_id is not one this server gave")
    return Frame("message", dialog_id=dialog_id, client_id=client_id, text=text, note=note, file=file,
                 greeting_id=greeting_id)


def _file_ref(value: Any) -> FileRef | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("key"), str) or len(value["key"]) > 256:
        raise Invalid("file must be {key, name} from an upload")
    return FileRef(value["key"], files.clean_name(value.get("name")))


def _upload(data: dict[str, Any], role: str, client_id: str | None) -> Frame:
    if client_id is None:
        raise Invalid("client_id must be 8-64 characters of A-Z a-z 0-9 _ -")
    upload = files.check_upload(data.get("name"), data.get("size"), data.get("content_type"))
    dialog_id = _dialog_id(data) if role == "operator" else None
    return Frame("upload", dialog_id=dialog_id, client_id=client_id, upload=upload)


def _text(value: Any, client_id: str | None, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise Invalid("text must be a string")
    text = value.strip()
    if not text and not allow_empty:
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
    cursor = _cursor(data)
    status = data.get("status", "open")
    if status not in STATUSES:
        raise Invalid("status must be open or closed")
    assignee = data.get("assignee")
    if assignee is not None and not (isinstance(assignee, str) and _ID.match(assignee)):
        raise Invalid("assignee must be me, none or an operator id")
    tag = clean_tag(data["tag"]) if data.get("tag") is not None else None
    segment = _id_field(data, "segment") if data.get("segment") is not None else None
    return Frame("subscribe", cursor=cursor, status=status, assignee=assignee, tag=tag, segment=segment)


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


def _tag(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"], dialog_id=_dialog_id(data), tag=clean_tag(data.get("tag")))


def _on_dialog(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"], dialog_id=_dialog_id(data))


def _assign(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    operator_id = data.get("operator_id")
    if operator_id is not None and not (isinstance(operator_id, str) and _ID.match(operator_id)):
        raise Invalid("operator_id must be an operator's id or null")
    return Frame("assign", dialog_id=_dialog_id(data), operator_id=operator_id)


def _visitor(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"], visitor_id=_id_field(data, "visitor_id"), cursor=_cursor(data),
                 edits={k: data[k] for k in ("name", "email", "phone") if k in data})


def _template_save(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    template_id = _id_field(data, "template_id") if data.get("template_id") is not None else None
    shortcut = data.get("shortcut")
    if not isinstance(shortcut, str) or not shortcut.strip():
        raise Invalid("a template needs a shortcut")
    shortcut = " ".join(shortcut.split())
    if len(shortcut) > MAX_SHORTCUT_CHARS:
        raise Invalid(f"a shortcut is at most {MAX_SHORTCUT_CHARS} characters")
    text = _text(data.get("text"), None)
    faq = data.get("faq", False)
    if not isinstance(faq, bool):
        raise Invalid("faq must be true or false")
    keywords = _plain(data.get("keywords"), MAX_KEYWORDS_CHARS, "keywords")
    return Frame("template_save", template_id=template_id, shortcut=shortcut, text=text, faq=faq,
                 keywords=keywords)


def _plain(value: Any, limit: int, name: str) -> str:
    """An optional one-line string field: white space collapsed, at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    text = " ".join(value.split())
    if len(text) > limit or any(ord(ch) < 32 for ch in text):
        raise Invalid(f"{name} is at most {limit} characters")
    return text


def _comment(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value.strip()) > MAX_COMMENT_CHARS:
        raise Invalid(f"comment is at most {MAX_COMMENT_CHARS} characters")
    return value.strip()


def _presence(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    status = data.get("status")
    if status not in PRESENCES:
        raise Invalid("status must be online, away or offline")
    return Frame("presence", status=status)


def _cap_set(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("cap_set", operator_id=_id_field(data, "operator_id"), cap=data.get("cap"))


def _transfer(data: dict[str, Any], role: str, cid: str | None) -> Frame:
    assigned = _assign(data, role, cid)
    return Frame("transfer", dialog_id=assigned.dialog_id, operator_id=assigned.operator_id,
                 comment=_comment(data.get("comment")))


def _bare(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"])


def _leave_message(data: dict[str, Any], _role: str, client_id: str | None) -> Frame:
    if client_id is None:
        raise Invalid("client_id must be 8-64 characters of A-Z a-z 0-9 _ -")
    email = data.get("email")
    if not isinstance(email, str) or not is_email(email.strip()):
        raise Invalid("a valid email address is required, so we can answer", client_id=client_id)
    name = _plain(data.get("name"), MAX_NAME_CHARS, "name")
    return Frame("leave_message", client_id=client_id, text=_text(data.get("text"), client_id),
                 email=email.strip(), name=name or None)


def _rate(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    score = data.get("score")
    if score not in SCORES:
        raise Invalid("score must be good or bad")
    return Frame("rate", dialog_id=_dialog_id(data), score=score, comment=_comment(data.get("comment")))


def _template_delete(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("template_delete", template_id=_id_field(data, "template_id"))


def _workspace(_data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("workspace")


def _cursor(data: dict[str, Any]) -> str | None:
    cursor = data.get("cursor")
    if cursor is not None and not (isinstance(cursor, str) and _CURSOR.match(cursor)):
        raise Invalid("cursor is not one this server gave")
    return cursor


def _ping(_data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("ping")


def _track(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    name = data.get("name")
    if not isinstance(name, str) or not _EVENT_NAME.match(name):
        raise Invalid("an event name is 1 to 64 of A-Z a-z 0-9 _ . : -")
    return Frame("track", name=name, props=_props(data.get("props")), typing=data.get("typing") is True)


def _props(value: Any) -> dict[str, Any]:
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


def _identify(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    identity: dict[str, str] = {}
    for key, limit in (("id", 128), ("email", 254), ("name", 100), ("source", 16)):
        value = data.get(key)
        if value is None:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and key == "id":
            value = str(value)
        if not isinstance(value, str) or len(value) > limit:
            raise Invalid(f"{key} must be a string of at most {limit} characters")
        identity[key] = value.strip()
    hash_value = data.get("hash")
    if hash_value is not None:
        if not isinstance(hash_value, str) or not _HEX.match(hash_value):
            raise Invalid("hash must be the hex HMAC-SHA256 of the id")
        identity["hash"] = hash_value.lower()
    if not any(identity.get(key) for key in ("id", "email", "name")):
        raise Invalid("identify needs an id, an email or a name")
    return Frame("identify", identity=identity)


def _check(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("check", typing=data.get("typing") is True)


def _read(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    seq = data.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= MAX_SEQ:
        raise Invalid("seq must be a message's seq (a positive integer)")
    return Frame("read", seq=seq)


def _monitor(_data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(_data["type"])


def _invite(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Invalid("an invitation needs a text")
    if len(text.strip()) > MAX_INVITE_CHARS or "\x00" in text:
        raise Invalid(f"an invitation is at most {MAX_INVITE_CHARS} characters")
    return Frame("invite", visitor_id=_id_field(data, "visitor_id"), text=text.strip())


def _document(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    field = DOCUMENT_FIELDS[data["type"]]
    doc = data.get(field)
    if not isinstance(doc, dict):
        raise Invalid(f"{field} must be an object")
    return Frame(data["type"], doc=doc)


def _item(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"], item_id=_id_field(data, ID_FIELDS[data["type"]]))


def _dialog_id(data: dict[str, Any]) -> str:
    return _id_field(data, "dialog_id")


def _id_field(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not _ID.match(value):
        raise Invalid(f"{name} is missing or malformed")
    return value


def _after_seq(data: dict[str, Any]) -> int:
    value = data.get("after_seq", 0)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
        raise Invalid("after_seq must be a non-negative integer")
    return value


_PARSERS = {
    "message": _message,
    "upload": _upload,
    "typing": _typing,
    "resume": _resume,
    "history": _history,
    "subscribe": _subscribe,
    "ping": _ping,
    "workspace": _workspace,
    "tag_add": _tag,
    "tag_remove": _tag,
    "close": _on_dialog,
    "reopen": _on_dialog,
    "assign": _assign,
    "visitor": _visitor,
    "visitor_update": _visitor,
    "visitor_events": _visitor,
    "template_save": _template_save,
    "template_delete": _template_delete,
    "track": _track,
    "identify": _identify,
    "check": _check,
    "read": _read,
    "monitor": _monitor,
    "proactive": _monitor,
    "invite": _invite,
    **{kind: _document for kind in DOCUMENT_FIELDS},
    **{kind: _item for kind in ID_FIELDS},
    "team": _bare, "presence": _presence, "cap_set": _cap_set, "transfer": _transfer,
    "availability": _bare, "queue": _bare, "handoff": _bare, "leave_message": _leave_message, "rate": _rate,
}


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def error_frame(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id:
        frame["client_id"] = client_id
    return frame
