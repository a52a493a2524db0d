"""Websocket protocol v1: the frame types, the limits, and the error frame. Pure.

docs/protocol.md is the reference; keep the two in step.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.dialogs import files

VERSION = "1"
MAX_FRAME_BYTES = 16 * 1024
MAX_TEXT_BYTES = 4096
MAX_TYPING_BYTES = 4096
HISTORY_PAGE = 200
MAX_SEQ = 10**9
DIALOG_PAGE = 50
MAX_TAG_CHARS = 40
MAX_SHORTCUT_CHARS = 40
STATUSES = ("open", "closed")

MAX_EVENT_PROPS = 20
MAX_PROP_CHARS = 256
MAX_INVITE_CHARS = 500

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
# Operator frames carrying a document checked by chalicelib.site (triggers, segments, blocks, settings): frame type -> its field.
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


def error_frame(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id:
        frame["client_id"] = client_id
    return frame
