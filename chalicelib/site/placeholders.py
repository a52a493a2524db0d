"""Placeholders in greeting and email texts: {visitor.name|there} and the like, checked
when a text is saved and filled when it is sent."""
from __future__ import annotations

import re
from collections.abc import Mapping

from chalicelib.shared.errors import Invalid

PLACEHOLDERS = ("visitor.name", "visitor.email", "page.title", "site.name", "operator.name")


# A placeholder is a dotted name in braces, so "{SAVE10}" in a greeting stays plain text.
_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_]+\.[A-Za-z_]+)\s*(?:\|([^{}]*))?\}")


def render(text: str, values: Mapping[str, str | None]) -> str:
    """The text with its placeholders filled: an empty value gives the fallback after `|`."""
    def fill(match: re.Match[str]) -> str:
        key, fallback = match[1], match[2]
        if key not in PLACEHOLDERS and key not in values:
            return match[0]
        value = values.get(key)
        return value if isinstance(value, str) and value.strip() else (fallback or "").strip()
    return _PLACEHOLDER.sub(fill, text)


def check_placeholders(text: str, path: str) -> None:
    for match in _PLACEHOLDER.finditer(text):
        if match[1] not in PLACEHOLDERS:
            raise Invalid(f"{path}: unknown placeholder {{{match[1]}}}; use one of "
                          + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS))
