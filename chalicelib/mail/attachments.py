"""The files sent with a mail, with names cleaned and inline images (shown by the HTML body)
told apart from files the sender attached."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from email.message import Message

from chalicelib.mail.body import MAX_PARTS, filename, is_attachment, leaves, payload
from chalicelib.mail.headers import MAX_NAME
from chalicelib.mail.text import oneline


@dataclass(frozen=True)
class Attachment:
    """A file sent with the mail. ``name`` is cleaned (no path or control characters, at most
    200 characters, "attachment" when absent); ``content_id`` has no angle brackets;
    ``inline_image`` marks images the HTML body shows by cid: (signature logos and the like)."""
    name: str
    content_type: str
    data: bytes
    content_id: str | None
    inline_image: bool


_CID_REF = re.compile(r"cid:([^\"'\s>)]{1,250})", re.IGNORECASE)


def attachments_of(msg: Message, body_parts: set[int], html_pages: list[str]) -> tuple[Attachment, ...]:
    """The attachments of ``msg``, not counting the parts (by id) read as its body
    (``Body.part_ids``); ``html_pages`` tell which images it shows inline."""
    cids = {cid.lower() for page in html_pages for cid in _CID_REF.findall(page)}
    found: list[Attachment] = []
    for part in leaves(msg):
        # unchosen alternatives are bodies too, not attachments
        if id(part) in body_parts or not is_attachment(part) or len(found) >= MAX_PARTS:
            continue
        attachment = _attachment(part, cids)
        if attachment:
            found.append(attachment)
    return tuple(found)


def _attachment(part: Message, cids: set[str]) -> Attachment | None:
    ctype = part.get_content_type()[:100]
    if part.is_multipart() and ctype != "message/rfc822":
        return None
    data = payload(part)
    content_id = _content_id(part)
    name = filename(part)
    if not data and not name:
        return None
    inline_image = ctype.startswith("image/") and content_id is not None and content_id.lower() in cids
    return Attachment(name=_clean_filename(name), content_type=ctype, data=data,
                      content_id=content_id, inline_image=inline_image)


def _content_id(part: Message) -> str | None:
    value = oneline(str(part.get("content-id", "")))
    value = value.strip("<> ")
    return value[:250] or None


def _clean_filename(name: str) -> str:
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zl", "Zp"})
    name = " ".join(name.split()).strip(". ")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = stem[:MAX_NAME - len(ext) - 1] + dot + ext if dot and len(ext) <= 10 else name[:MAX_NAME]
    return name or "attachment"
