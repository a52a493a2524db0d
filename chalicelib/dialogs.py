"""Dialog and message rules and their wire shapes. Pure: no I/O."""
from __future__ import annotations

from typing import Any

from chalicelib.storage.models import Dialog, Message

PREVIEW_CHARS = 140


def visitor_display_name(visitor_id: str) -> str:
    return f"Visitor {visitor_id[-4:].upper()}"


def preview(text: str) -> str:
    """The dialog list's one-line view of a message."""
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"


def visitor_author() -> dict[str, Any]:
    return {"kind": "visitor"}


def operator_author(operator_id: str, name: str | None) -> dict[str, Any]:
    return {"kind": "operator", "id": operator_id, "name": name or "Operator"}


def same_author(stored: dict[str, Any], author: dict[str, Any]) -> bool:
    return stored.get("kind") == author["kind"] and stored.get("id") == author.get("id")


def author_dict(author: Any) -> dict[str, Any]:
    data = author.as_dict() if hasattr(author, "as_dict") else dict(author or {})
    return {key: value for key, value in data.items() if value is not None}


def message_view(message: Message) -> dict[str, Any]:
    """A message as both visitor and operators see it (no operator-only fields exist yet)."""
    return {
        "seq": int(message.seq),
        "client_id": message.client_id,
        "dialog_id": message.dialog_id,
        "created_at": int(message.created_at),
        "author": author_dict(message.author),
        "text": message.text,
    }


def dialog_summary(dialog: Dialog) -> dict[str, Any]:
    """A dialog as the operators' list shows it. Never sent to a visitor."""
    return {
        "dialog_id": dialog.dialog_id,
        "visitor_id": dialog.visitor_id,
        "visitor_name": dialog.visitor_name,
        "status": dialog.status,
        "created_at": int(dialog.created_at),
        "last_activity": int(dialog.last_activity),
        "last_seq": int(dialog.last_seq or 0),
        "last_text": dialog.last_text,
        "last_author": author_dict(dialog.last_author) if dialog.last_author else None,
    }


def new_dialog(dialog_id: str, site_id: str, visitor_id: str, at_ms: int) -> Dialog:
    return Dialog(
        dialog_id,
        site_id=site_id,
        visitor_id=visitor_id,
        visitor_name=visitor_display_name(visitor_id),
        status="open",
        site_status=f"{site_id}#open",
        created_at=at_ms,
        last_activity=at_ms,
        last_seq=0,
    )
