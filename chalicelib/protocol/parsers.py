"""Websocket protocol v1: parse and validate inbound frames, one parser per frame type. Pure.

docs/protocol.md is the reference; keep the two in step.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from chalicelib.dialogs import files
from chalicelib.protocol import fields
from chalicelib.protocol.frame import (
    DOCUMENT_FIELDS,
    ID_FIELDS,
    MAX_FRAME_BYTES,
    MAX_INVITE_CHARS,
    MAX_KEYWORDS_CHARS,
    MAX_NAME_CHARS,
    MAX_SEQ,
    MAX_SHORTCUT_CHARS,
    MAX_TYPING_BYTES,
    OPERATOR_TYPES,
    PRESENCES,
    SCORES,
    STATUSES,
    VISITOR_TYPES,
    Frame,
)
from chalicelib.shared.errors import BadJson, Invalid, ParleyError, TooLarge, UnknownType
from chalicelib.visitors.cards import is_email

_GREETING_ID = re.compile(r"^[A-Za-z0-9_#.-]{1,160}$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")


def parse_frame(raw: str | None, role: str) -> Frame:
    """The validated frame, or a ParleyError saying what is wrong with it."""
    data = _load(raw)
    kind = data.get("type")
    allowed = VISITOR_TYPES if role == "visitor" else OPERATOR_TYPES
    if not isinstance(kind, str) or kind not in allowed:
        raise UnknownType(f"unknown frame type {str(kind)[:40]!r} for a {role}")
    client_id = fields.optional_client_id(data) if kind in ("message", "upload", "leave_message") else None
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


def _message(data: dict[str, Any], role: str, client_id: str | None) -> Frame:
    if client_id is None:
        raise Invalid("client_id must be 8-64 characters of A-Z a-z 0-9 _ -")
    file = fields.file_ref(data.get("file"))
    text = fields.text(data.get("text", "" if file else None), client_id, allow_empty=file is not None)
    dialog_id = fields.dialog_id(data) if role == "operator" else None
    note = role == "operator" and data.get("note") is True
    if note and file:
        raise Invalid("a note cannot carry a file")
    greeting_id = data.get("greeting_id") if role == "visitor" else None
    if greeting_id is not None and not (isinstance(greeting_id, str) and _GREETING_ID.match(greeting_id)):
        raise Invalid("greeting_id is not one this server gave")
    return Frame("message", dialog_id=dialog_id, client_id=client_id, text=text, note=note, file=file,
                 greeting_id=greeting_id)


def _upload(data: dict[str, Any], role: str, client_id: str | None) -> Frame:
    if client_id is None:
        raise Invalid("client_id must be 8-64 characters of A-Z a-z 0-9 _ -")
    upload = files.check_upload(data.get("name"), data.get("size"), data.get("content_type"))
    dialog_id = fields.dialog_id(data) if role == "operator" else None
    return Frame("upload", dialog_id=dialog_id, client_id=client_id, upload=upload)


def _typing(data: dict[str, Any], role: str, _: str | None) -> Frame:
    if role == "operator":
        return Frame("typing", dialog_id=fields.dialog_id(data))
    value = data.get("text", "")
    if not isinstance(value, str):
        raise Invalid("text must be a string")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_TYPING_BYTES:
        raise TooLarge(f"text is over {MAX_TYPING_BYTES} bytes")
    return Frame("typing", text=value)


def _resume(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("resume", after_seq=fields.after_seq(data))


def _history(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("history", dialog_id=fields.dialog_id(data), after_seq=fields.after_seq(data))


def _subscribe(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    cursor = fields.cursor(data)
    status = data.get("status", "open")
    if status not in STATUSES:
        raise Invalid("status must be open or closed")
    assignee = data.get("assignee")
    if assignee is not None and not (isinstance(assignee, str) and fields.is_id(assignee)):
        raise Invalid("assignee must be me, none or an operator id")
    tag = fields.clean_tag(data["tag"]) if data.get("tag") is not None else None
    segment = fields.id_field(data, "segment") if data.get("segment") is not None else None
    return Frame("subscribe", cursor=cursor, status=status, assignee=assignee, tag=tag, segment=segment)


def _tag(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"], dialog_id=fields.dialog_id(data), tag=fields.clean_tag(data.get("tag")))


def _on_dialog(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"], dialog_id=fields.dialog_id(data))


def _assign(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    operator_id = data.get("operator_id")
    if operator_id is not None and not (isinstance(operator_id, str) and fields.is_id(operator_id)):
        raise Invalid("operator_id must be an operator's id or null")
    return Frame("assign", dialog_id=fields.dialog_id(data), operator_id=operator_id)


def _visitor(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"], visitor_id=fields.id_field(data, "visitor_id"), cursor=fields.cursor(data),
                 edits={k: data[k] for k in ("name", "email", "phone") if k in data})


def _template_save(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    template_id = fields.id_field(data, "template_id") if data.get("template_id") is not None else None
    shortcut = data.get("shortcut")
    if not isinstance(shortcut, str) or not shortcut.strip():
        raise Invalid("a template needs a shortcut")
    shortcut = " ".join(shortcut.split())
    if len(shortcut) > MAX_SHORTCUT_CHARS:
        raise Invalid(f"a shortcut is at most {MAX_SHORTCUT_CHARS} characters")
    text = fields.text(data.get("text"), None)
    faq = data.get("faq", False)
    if not isinstance(faq, bool):
        raise Invalid("faq must be true or false")
    keywords = fields.plain(data.get("keywords"), MAX_KEYWORDS_CHARS, "keywords")
    return Frame("template_save", template_id=template_id, shortcut=shortcut, text=text, faq=faq,
                 keywords=keywords)


def _presence(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    status = data.get("status")
    if status not in PRESENCES:
        raise Invalid("status must be online, away or offline")
    return Frame("presence", status=status)


def _cap_set(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("cap_set", operator_id=fields.id_field(data, "operator_id"), cap=data.get("cap"))


def _transfer(data: dict[str, Any], role: str, cid: str | None) -> Frame:
    assigned = _assign(data, role, cid)
    return Frame("transfer", dialog_id=assigned.dialog_id, operator_id=assigned.operator_id,
                 comment=fields.comment(data.get("comment")))


def _bare(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"])


def _leave_message(data: dict[str, Any], _role: str, client_id: str | None) -> Frame:
    if client_id is None:
        raise Invalid("client_id must be 8-64 characters of A-Z a-z 0-9 _ -")
    email = data.get("email")
    if not isinstance(email, str) or not is_email(email.strip()):
        raise Invalid("a valid email address is required, so we can answer", client_id=client_id)
    name = fields.plain(data.get("name"), MAX_NAME_CHARS, "name")
    return Frame("leave_message", client_id=client_id, text=fields.text(data.get("text"), client_id),
                 email=email.strip(), name=name or None)


def _rate(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    score = data.get("score")
    if score not in SCORES:
        raise Invalid("score must be good or bad")
    return Frame("rate", dialog_id=fields.dialog_id(data), score=score, comment=fields.comment(data.get("comment")))


def _template_delete(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("template_delete", template_id=fields.id_field(data, "template_id"))


def _workspace(_data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("workspace")


def _ping(_data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame("ping")


def _track(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    name = data.get("name")
    if not isinstance(name, str) or not fields.is_event_name(name):
        raise Invalid("an event name is 1 to 64 of A-Z a-z 0-9 _ . : -")
    return Frame("track", name=name, props=fields.props(data.get("props")), typing=data.get("typing") is True)


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
    return Frame("invite", visitor_id=fields.id_field(data, "visitor_id"), text=text.strip())


def _document(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    field = DOCUMENT_FIELDS[data["type"]]
    doc = data.get(field)
    if not isinstance(doc, dict):
        raise Invalid(f"{field} must be an object")
    return Frame(data["type"], doc=doc)


def _item(data: dict[str, Any], _role: str, _cid: str | None) -> Frame:
    return Frame(data["type"], item_id=fields.id_field(data, ID_FIELDS[data["type"]]))


_PARSERS: dict[str, Callable[[dict[str, Any], str, str | None], Frame]] = {
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
