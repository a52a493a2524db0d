"""Untrusted text made safe to show: control characters and bidi overrides dropped."""
from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufeff]")


def clean_text(text: str) -> str:
    """Newlines normalized, control characters (other than tab) and bidi overrides dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).replace("\xa0", " ")


def strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


def oneline(value: str) -> str:
    return " ".join(strip_controls(value).split())
