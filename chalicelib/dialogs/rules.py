"""Dialog and message rules and their wire shapes. Pure: no I/O."""
from __future__ import annotations

import json
from typing import Any

from chalicelib.dialogs import files
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.message_store import Message
from chalicelib.visitors.cards import display_name, gravatar

PREVIEW_CHARS = 140
MAX_TAGS = 20
MAILED_SHOWN = 100  # a summary names at most this many emailed answers (the latest)
NOBODY = "-"  # the assignee part of assignee_key for an unassigned dialog


def message_preview(text: str, file_name: str | None) -> str:
    return preview(f"📎 {file_name} {text}" if file_name else text)


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


def message_view(message: Message, file_url: str | None = None, for_operator: bool = False) -> dict[str, Any]:
    """A message as its readers see it; `file_url` is the attached file's download link.
    Notes are operator-only: callers never hand one to a visitor; nor the email a message
    came from, which only an operator's view carries."""
    view: dict[str, Any] = {
        "seq": int(message.seq),
        "client_id": message.client_id,
        "dialog_id": message.dialog_id,
        "created_at": int(message.created_at),
        "author": author_dict(message.author),
        "text": message.text,
    }
    if message.note:
        view["note"] = True
    if message.via:
        view["via"] = message.via
    if for_operator and message.via == "email" and message.email_from:
        view["email"] = email_view(message)
    if message.file is not None:
        kind = message.file.content_type
        view["file"] = {"name": message.file.name, "size": int(message.file.size), "content_type": kind,
                        "url": file_url, "image": files.is_image(kind)}
    return view


def email_view(message: Message) -> dict[str, Any]:
    """The email a visitor's message came from (operators only)."""
    try:
        left_out = json.loads(message.left_out) if message.left_out else []
    except ValueError:
        left_out = []
    return {"from": message.email_from, "subject": message.email_subject or "",
            "original": message.original or "", "left_out": left_out if isinstance(left_out, list) else []}


def dialog_summary(dialog: Dialog, queue_head: int | None = None) -> dict[str, Any]:
    """A dialog as the operators' list shows it. Never sent to a visitor. Its queue position
    is known when the caller read the queue's `queue_head`."""
    assignee = ({"operator_id": dialog.assignee_id, "name": dialog.assignee_name or "Operator"}
                if dialog.assignee_id else None)
    queued = dialog.queued_at is not None and dialog.queue_no is not None and not dialog.assignee_id
    return {
        "dialog_id": dialog.dialog_id,
        "visitor_id": dialog.visitor_id,
        "visitor_name": dialog.visitor_name,
        "visitor_avatar": gravatar(dialog.visitor_email),
        "status": dialog.status,
        "created_at": int(dialog.created_at),
        "last_activity": int(dialog.last_activity),
        "closed_at": int(dialog.closed_at) if dialog.closed_at else None,
        "last_seq": int(dialog.last_seq or 0),
        "last_text": dialog.last_text,
        "last_author": author_dict(dialog.last_author) if dialog.last_author else None,
        "tags": sorted(dialog.tags or ()),
        "assignee": assignee,
        "channel": dialog.channel or "chat",
        "mailed_seq": int(dialog.mailed_seq) if dialog.mailed_seq is not None else None,
        "mailed_seqs": sorted(int(seq) for seq in dialog.mailed_seqs or ())[-MAILED_SHOWN:],
        "waiting_since": _int(dialog.waiting_since),
        "late": bool(dialog.late),
        "offered_to": ({"operator_id": dialog.offered_to, "name": dialog.offered_name or "Operator"}
                       if dialog.offered_to else None),
        "queued_at": _int(dialog.queued_at) if queued else None,
        "queue_position": (max(1, int(dialog.queue_no) - queue_head + 1)
                           if queued and queue_head is not None else None),
        "previous_dialog_id": dialog.previous_dialog_id,
        "rating": ({"score": dialog.rating, "comment": dialog.rating_comment or "", "at": _int(dialog.rated_at)}
                   if dialog.rating else None),
        "bot": dialog.bot,
        "version": int(dialog.version or 0),
    }


def _int(value: float | None) -> int | None:
    return int(value) if value is not None else None


def assignee_key(site_id: str, status: str, operator_id: str | None) -> str:
    return f"{site_id}#{status}#{operator_id or NOBODY}"


def status_change(dialog: Dialog, status: str, at_ms: int) -> list[Any]:
    """The update that moves a dialog to `status`, index keys included."""
    closed_at = Dialog.closed_at.set(at_ms) if status == "closed" else Dialog.closed_at.remove()
    return [Dialog.status.set(status), Dialog.site_status.set(f"{dialog.site_id}#{status}"),
            Dialog.assignee_key.set(assignee_key(dialog.site_id, status, dialog.assignee_id)), closed_at]


def assignee_change(dialog: Dialog, operator_id: str | None, name: str | None) -> list[Any]:
    """The update that gives a dialog to an operator (or to nobody), index key included."""
    key = Dialog.assignee_key.set(assignee_key(dialog.site_id, dialog.status, operator_id))
    if operator_id is None:
        return [key, Dialog.assignee_id.remove(), Dialog.assignee_name.remove()]
    return [key, Dialog.assignee_id.set(operator_id), Dialog.assignee_name.set(name or "Operator")]


def new_dialog(dialog_id: str, site_id: str, visitor_id: str, at_ms: int) -> Dialog:
    return Dialog(
        dialog_id,
        site_id=site_id,
        visitor_id=visitor_id,
        visitor_name=display_name(visitor_id, None),
        status="open",
        site_status=f"{site_id}#open",
        assignee_key=assignee_key(site_id, "open", None),
        created_at=at_ms,
        last_activity=at_ms,
        last_seq=0,
    )
