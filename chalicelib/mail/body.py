"""The body of a mail as a reader sees it: the MIME tree walked with one choice per
multipart/alternative (plain text preferred over HTML), attachments told apart from body parts, and
a part's text decoded under its charset with format=flowed lines joined."""
from __future__ import annotations

from email.message import Message

from chalicelib.mail.charsets import decode_bytes
from chalicelib.mail.headers import decode_words, unsurrogate
from chalicelib.mail.html_text import MAX_HTML, html_texts

MAX_PARTS = 500


class Body:
    """The text of a message, the text to look for the reply in, and the ids of the parts read
    for them (the other leaves are attachments)."""

    def __init__(self, msg: Message) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.part_ids: set[int] = set()
        self._parts = 0
        self._collect(msg, depth=0)
        self.html_only = not self.plain and bool(self.html)
        if self.plain:
            self.text = self.reply_source = "\n".join(self.plain)
        else:
            pages = [html_texts(page) for page in self.html]
            self.text = "\n".join(text for text, _ in pages)
            self.reply_source = "\n".join(reply for _, reply in pages)

    def _collect(self, part: Message, depth: int) -> None:
        """Walks the body parts a reader would see (one choice per multipart/alternative)."""
        self._parts += 1
        if depth > 30 or self._parts > MAX_PARTS or is_attachment(part):
            return
        ctype = part.get_content_type()
        if part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            if ctype == "multipart/alternative":
                children = _best_alternative(children)
            for child in children:
                self._collect(child, depth + 1)
        elif ctype == "text/plain":
            self.part_ids.add(id(part))
            self.plain.append(part_text(part))
        elif ctype == "text/html":
            self.part_ids.add(id(part))
            self.html.append(part_text(part)[:MAX_HTML])


def _best_alternative(children: list[Message]) -> list[Message]:
    """The plain-text alternative when there is one with text, else the last HTML one."""
    for child in children:
        plain = [leaf for leaf in leaves(child) if leaf.get_content_type() == "text/plain"]
        if any(not is_attachment(leaf) and part_text(leaf).strip() for leaf in plain):
            return [child]
    readable = [child for child in children if _has_type(child, "text/html")]
    return readable[-1:] or children[-1:]


def _has_type(part: Message, ctype: str) -> bool:
    return any(leaf.get_content_type() == ctype and not is_attachment(leaf) for leaf in leaves(part))


def leaves(part: Message, depth: int = 0) -> list[Message]:
    """The non-multipart parts in ``part`` (itself when it is one); an attached message is one."""
    if depth > 30:
        return []
    if part.is_multipart() and part.get_content_type() != "message/rfc822":
        found: list[Message] = []
        for child in part.get_payload():
            if isinstance(child, Message):
                found.extend(leaves(child, depth + 1))
            if len(found) > MAX_PARTS:
                break
        return found
    return [part]


def is_attachment(part: Message) -> bool:
    """Whether a part is a file rather than body text: marked so, not text, or named."""
    disposition = str(part.get("content-disposition", "")).split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() == "multipart":
        return False
    return part.get_content_type() not in {"text/plain", "text/html"} or bool(filename(part))


def filename(part: Message) -> str:
    """The file name the part declares, decoded but not yet cleaned; "" when it has none."""
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:  # malformed RFC 2231 parameters
        return ""
    if isinstance(name, tuple):  # an RFC 2231 value the email package left undecoded
        name = decode_bytes(str(name[2]).encode("latin-1", "replace"), name[0])
    return decode_words(unsurrogate(str(name)))


def payload(part: Message) -> bytes:
    """A part's content, transfer encoding undone (an attached message as its raw mail)."""
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    if isinstance(part.get_payload(), Message) or part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        try:
            return inner.as_bytes() if isinstance(inner, Message) else b""
        except Exception:  # an attached message the generator cannot write back
            return b""
    return b""


def part_text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:  # a malformed parameter list
        charset = None
    text = decode_bytes(payload(part), charset)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if part.get_content_type() == "text/plain" and _param(part, "format").lower() == "flowed":
        text = unflow(text, delsp=_param(part, "delsp").lower() == "yes")
    return text


def _param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:  # a malformed parameter list
        return ""
    return value if isinstance(value, str) else ""


def unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: soft line breaks (a trailing space) joined, quote depth kept."""
    lines: list[tuple[int, list[str]]] = []
    open_line = False
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content[1:] if content.startswith(" ") else content  # space-stuffing
        flowed = content.endswith(" ") and content != "-- "
        if flowed and delsp:
            content = content[:-1]
        if open_line and lines[-1][0] == depth:
            lines[-1][1].append(content)
        else:
            lines.append((depth, [content]))
        open_line = flowed
    return "\n".join((">" * depth + " " if depth else "") + "".join(parts) for depth, parts in lines)
