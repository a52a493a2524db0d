"""Websocket protocol v1 (docs/protocol.md): the names the rest of Parley uses.

frame: the Frame type, the limits, the error frame; fields: the field checkers; parsers: one
parser per inbound frame type and parse_frame. encode lives in realtime.delivery, a lower layer.
"""
from __future__ import annotations

from chalicelib.protocol.fields import is_id
from chalicelib.protocol.frame import (
    DIALOG_PAGE,
    DOCUMENT_FIELDS,
    HISTORY_PAGE,
    ID_FIELDS,
    MAX_COMMENT_CHARS,
    MAX_TEXT_BYTES,
    SCORES,
    VERSION,
    FileRef,
    Frame,
    error_frame,
)
from chalicelib.protocol.parsers import parse_frame
from chalicelib.realtime.delivery import encode

__all__ = [
    "DIALOG_PAGE",
    "DOCUMENT_FIELDS",
    "HISTORY_PAGE",
    "ID_FIELDS",
    "MAX_COMMENT_CHARS",
    "MAX_TEXT_BYTES",
    "SCORES",
    "VERSION",
    "FileRef",
    "Frame",
    "encode",
    "error_frame",
    "is_id",
    "parse_frame",
]
