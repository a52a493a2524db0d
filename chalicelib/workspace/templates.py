"""Reply templates as operators see them. Pure."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chalicelib.storage.template_store import Template

MAX_PER_SITE = 200


def views(found: Iterable[Template]) -> list[dict[str, Any]]:
    """Templates sorted by shortcut, as the console lists and suggests them."""
    return sorted(({"template_id": t.template_id, "shortcut": t.shortcut, "text": t.text,
                    "updated_at": int(t.updated_at), "updated_by": t.updated_by, "faq": bool(t.faq),
                    "keywords": t.keywords or ""} for t in found),
                  key=lambda t: (t["shortcut"].lower(), t["template_id"]))
