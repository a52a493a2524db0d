"""Raw MIME bytes of an inbound email -> the fields Parley needs to post it into a dialog.

Pure and standard library only. Everything in an email is untrusted: sizes are capped, control
characters dropped, and bad input (broken MIME, unknown charsets, bad base64, garbage bytes)
degrades to empty or partial fields; ``parse`` never raises.
"""
from __future__ import annotations

import codecs
import email
import email.policy
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from chalicelib.mail.quotes import strip_reply

MAX_TEXT = 100_000
MAX_HTML = 1_000_000
MAX_SUBJECT = 300
MAX_NAME = 200
MAX_IDS = 100
MAX_PARTS = 500
MAX_DEPTH = 300


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


@dataclass(frozen=True)
class ParsedMail:
    """One inbound mail. Message ids have no angle brackets, addresses are lower-cased addr-specs
    ("" when unusable); ``text`` is the whole body as plain text (HTML converted when there is
    no text part) and ``reply`` only what the sender wrote, without quotes and signature."""
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_address: str
    from_name: str
    recipients: tuple[str, ...]
    subject: str
    date_ms: int | None
    text: str
    reply: str
    html_only: bool
    auto_reply: bool
    attachments: tuple[Attachment, ...]


EMPTY = ParsedMail(None, (), (), "", "", (), "", None, "", "", False, False, ())


def parse(raw: bytes) -> ParsedMail:
    """The parsed fields of one raw email; never raises (unusable input gives empty fields)."""
    try:
        msg = email.message_from_bytes(bytes(raw), policy=email.policy.compat32)
        return _parse(msg)
    except Exception:  # the email package or a pathological input (e.g. deep nesting) gave up
        return EMPTY


def _parse(msg: Message) -> ParsedMail:
    headers = _Headers(msg)
    from_name, from_address = _first_address(headers.raw("from"))
    body = _Body(msg)
    text = _clean_text(body.text).strip()[:MAX_TEXT]
    reply = strip_reply(_clean_text(body.reply_source)[:MAX_TEXT])
    if not reply and body.reply_source != body.text:
        reply = strip_reply(text)
    return ParsedMail(
        message_id=next(iter(_message_ids(headers.raw("message-id"))), None),
        in_reply_to=_message_ids(headers.raw("in-reply-to")),
        references=_message_ids(headers.raw("references")),
        from_address=from_address,
        from_name=from_name,
        recipients=_addresses(headers.raw("to") + ", " + headers.raw("cc")),
        subject=_oneline(headers.decoded("subject"))[:MAX_SUBJECT],
        date_ms=_date_ms(headers.raw("date")),
        text=text,
        reply=reply,
        html_only=body.html_only,
        auto_reply=_auto_reply(msg, headers, from_address),
        attachments=body.attachments,
    )


# ---------------------------------------------------------------- headers

class _Headers:
    """Header values as sent (first occurrence), with 8-bit bytes read as UTF-8 (RFC 6532)."""

    def __init__(self, msg: Message) -> None:
        self._values: dict[str, str] = {}
        for name, value in msg.raw_items():
            key = str(name).lower()
            if key not in self._values:
                self._values[key] = _unsurrogate(str(value))[:20_000]

    def raw(self, name: str) -> str:
        return self._values.get(name, "")

    def decoded(self, name: str) -> str:
        return decode_words(self.raw(name))


def _unsurrogate(value: str) -> str:
    """A header the email package read with raw 8-bit bytes kept as surrogates, as UTF-8."""
    if not any("\ud800" <= ch <= "\udfff" for ch in value):
        return value
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeError:  # a surrogate that is not an escaped byte
        return value.encode("utf-8", "replace").decode("utf-8")


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,60})\?([bBqQ])\?([^?\s]*)\?=")


def decode_words(value: str) -> str:
    """RFC 2047 encoded words decoded. Adjacent words are joined before decoding (clients split
    a multi-byte character across two words); bad base64 and unknown charsets are tolerated."""
    pieces: list[str | tuple[str, bytes]] = []  # plain text, or (charset, bytes) of encoded words
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position:match.start()]
        if gap and not (gap.isspace() and pieces and isinstance(pieces[-1], tuple)):
            pieces.append(gap)
        charset = match.group(1).split("*")[0].lower()
        data = _word_bytes(match.group(2).upper(), match.group(3))
        last = pieces[-1] if pieces else None
        if data is None:
            pieces.append(match.group(0))
        elif isinstance(last, tuple) and last[0] == charset:
            pieces[-1] = (charset, last[1] + data)
        else:
            pieces.append((charset, data))
        position = match.end()
    pieces.append(value[position:])
    return "".join(piece if isinstance(piece, str) else decode_bytes(piece[1], piece[0]) for piece in pieces)


def _word_bytes(kind: str, payload: str) -> bytes | None:
    try:
        if kind == "B":
            return codecs.decode((payload + "=" * (-len(payload) % 4)).encode("ascii"), "base64")
        return codecs.decode(payload.replace("_", " ").encode("ascii"), "quopri")
    except (ValueError, UnicodeError, TypeError):
        return None


def _oneline(value: str) -> str:
    return " ".join(_strip_controls(value).split())


_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")


def _message_ids(value: str) -> tuple[str, ...]:
    found = _MESSAGE_ID.findall(value)
    if not found and value.strip() and len(value.split()) == 1:
        found = [value.strip()[:500]]  # some clients send ids without brackets
    unique = tuple(dict.fromkeys(_strip_controls(item) for item in found))
    return unique[:MAX_IDS]


_ADDR_SPEC = re.compile(r"[^@\s<>(),;:\"]{1,64}@[^@\s<>(),;:\"]{1,255}")


def _parsed_addresses(value: str) -> list[tuple[str, str]]:
    try:
        pairs = getaddresses([value[:20_000]])
    except Exception:  # a pathological header; treat as no address
        return []
    found = []
    for name, addr in pairs:
        addr = addr.strip().lower()
        if _ADDR_SPEC.fullmatch(addr):
            found.append((name, addr))
    return found


def _first_address(value: str) -> tuple[str, str]:
    pairs = _parsed_addresses(value)
    if not pairs:
        return "", ""
    name, addr = pairs[0]
    return _oneline(decode_words(name)).strip("\"' ")[:MAX_NAME], addr


def _addresses(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addr for _, addr in _parsed_addresses(value)))[:MAX_IDS]


def _date_ms(value: str) -> int | None:
    if not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value.strip()[:200])
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


_AUTO_HEADERS = ("x-autoreply", "x-autorespond")
_AUTO_PRECEDENCE = {"bulk", "auto_reply", "junk"}


def _auto_reply(msg: Message, headers: _Headers, from_address: str) -> bool:
    """Whether the mail was sent by a machine (RFC 3834 auto-replies, vacation responders,
    bounces): those must not become chat messages or trigger answers."""
    submitted = headers.raw("auto-submitted").strip().lower()
    if submitted and not submitted.startswith("no"):
        return True
    if any(headers.raw(name).strip() for name in _AUTO_HEADERS):
        return True
    if headers.raw("precedence").strip().lower() in _AUTO_PRECEDENCE:
        return True
    if msg.get_content_type() == "multipart/report":
        return True
    sender = headers.raw("from").lower()
    return "mailer-daemon" in sender or from_address.split("@")[0] == "postmaster"


# ---------------------------------------------------------------- body

class _Body:
    """The text, the text to look for the reply in, and the attachments of a message."""

    def __init__(self, msg: Message) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self._body_parts: set[int] = set()
        self._parts = 0
        self._collect(msg, depth=0)
        self.html_only = not self.plain and bool(self.html)
        if self.plain:
            self.text = self.reply_source = "\n".join(self.plain)
        else:
            pages = [html_texts(page) for page in self.html]
            self.text = "\n".join(text for text, _ in pages)
            self.reply_source = "\n".join(reply for _, reply in pages)
        self.attachments = self._attachments(msg)

    def _collect(self, part: Message, depth: int) -> None:
        """Walks the body parts a reader would see (one choice per multipart/alternative)."""
        self._parts += 1
        if depth > 30 or self._parts > MAX_PARTS or _is_attachment(part):
            return
        ctype = part.get_content_type()
        if part.is_multipart():
            children = [child for child in part.get_payload() if isinstance(child, Message)]
            if ctype == "multipart/alternative":
                children = _best_alternative(children)
            for child in children:
                self._collect(child, depth + 1)
        elif ctype == "text/plain":
            self._body_parts.add(id(part))
            self.plain.append(_part_text(part))
        elif ctype == "text/html":
            self._body_parts.add(id(part))
            self.html.append(_part_text(part)[:MAX_HTML])

    def _attachments(self, msg: Message) -> tuple[Attachment, ...]:
        cids = {cid.lower() for page in self.html for cid in _CID_REF.findall(page)}
        found = []
        for part in _leaves(msg):
            # unchosen alternatives are bodies too, not attachments
            if id(part) in self._body_parts or not _is_attachment(part) or len(found) >= MAX_PARTS:
                continue
            attachment = _attachment(part, cids)
            if attachment:
                found.append(attachment)
        return tuple(found)


def _best_alternative(children: list[Message]) -> list[Message]:
    """The plain-text alternative when there is one with text, else the last HTML one."""
    for child in children:
        plain = [leaf for leaf in _leaves(child) if leaf.get_content_type() == "text/plain"]
        if any(not _is_attachment(leaf) and _part_text(leaf).strip() for leaf in plain):
            return [child]
    readable = [child for child in children if _has_type(child, "text/html")]
    return readable[-1:] or children[-1:]


def _has_type(part: Message, ctype: str) -> bool:
    return any(leaf.get_content_type() == ctype and not _is_attachment(leaf) for leaf in _leaves(part))


def _leaves(part: Message, depth: int = 0) -> list[Message]:
    if depth > 30:
        return []
    if part.is_multipart() and part.get_content_type() != "message/rfc822":
        found: list[Message] = []
        for child in part.get_payload():
            if isinstance(child, Message):
                found.extend(_leaves(child, depth + 1))
            if len(found) > MAX_PARTS:
                break
        return found
    return [part]


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("content-disposition", "")).split(";")[0].strip().lower()
    if disposition == "attachment":
        return True
    if part.get_content_maintype() == "multipart":
        return False
    return part.get_content_type() not in {"text/plain", "text/html"} or bool(_filename(part))


def _payload(part: Message) -> bytes:
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


def _part_text(part: Message) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:  # a malformed parameter list
        charset = None
    text = decode_bytes(_payload(part), charset)
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


# ---------------------------------------------------------------- attachments

_CID_REF = re.compile(r"cid:([^\"'\s>)]{1,250})", re.IGNORECASE)


def _attachment(part: Message, cids: set[str]) -> Attachment | None:
    ctype = part.get_content_type()[:100]
    if part.is_multipart() and ctype != "message/rfc822":
        return None
    data = _payload(part)
    content_id = _content_id(part)
    name = _filename(part)
    if not data and not name:
        return None
    inline_image = ctype.startswith("image/") and content_id is not None and content_id.lower() in cids
    return Attachment(name=_clean_filename(name), content_type=ctype, data=data,
                      content_id=content_id, inline_image=inline_image)


def _content_id(part: Message) -> str | None:
    value = _oneline(str(part.get("content-id", "")))
    value = value.strip("<> ")
    return value[:250] or None


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or part.get_param("name") or ""
    except Exception:  # malformed RFC 2231 parameters
        return ""
    if isinstance(name, tuple):  # an RFC 2231 value the email package left undecoded
        name = decode_bytes(str(name[2]).encode("latin-1", "replace"), name[0])
    return decode_words(_unsurrogate(str(name)))


def _clean_filename(name: str) -> str:
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zl", "Zp"})
    name = " ".join(name.split()).strip(". ")
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = stem[:MAX_NAME - len(ext) - 1] + dot + ext if dot and len(ext) <= 10 else name[:MAX_NAME]
    return name or "attachment"


# ---------------------------------------------------------------- text

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufeff]")


def _clean_text(text: str) -> str:
    """Newlines normalized, control characters (other than tab) and bidi overrides dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text).replace("\xa0", " ")


def _strip_controls(text: str) -> str:
    return _CONTROL.sub("", text)


# ---------------------------------------------------------------- charsets

# a label -> the codecs to try, in order; the first is used with replacement when none fits
_CHARSETS: dict[str, tuple[str, ...]] = {
    "": ("utf-8", "cp1252"),
    "us-ascii": ("utf-8", "cp1252"),
    "ascii": ("utf-8", "cp1252"),
    "iso-8859-1": ("cp1252", "latin-1"),
    "latin1": ("cp1252", "latin-1"),
    "windows-1252": ("cp1252", "latin-1"),
    "gb2312": ("gb18030",),
    "gb_2312-80": ("gb18030",),
    "euc-cn": ("gb18030",),
    "gbk": ("gb18030",),
    "x-gbk": ("gb18030",),
    "cp936": ("gb18030",),
    "big5": ("cp950", "big5hkscs"),
    "x-big5": ("cp950", "big5hkscs"),
    "ks_c_5601-1987": ("cp949",),
    "ks_c_5601": ("cp949",),
    "euc-kr": ("cp949",),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "shift-jis": ("cp932", "shift_jis_2004"),
    "sjis": ("cp932", "shift_jis_2004"),
    "x-sjis": ("cp932", "shift_jis_2004"),
    "windows-31j": ("cp932",),
    "euc-jp": ("euc_jp", "euc_jis_2004"),
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "cp50221"),
    "unicode-1-1-utf-7": ("utf-7",),
    "windows-874": ("cp874",),
    "iso-8859-8-i": ("iso-8859-8",),
    "x-mac-cyrillic": ("mac-cyrillic",),
    "unknown-8bit": ("utf-8",),
}
# text codecs to Python, but not mail charsets
_REFUSED = {"idna", "punycode", "raw_unicode_escape", "unicode_escape", "undefined", "mbcs", "oem"}


def _codecs_for(label: str) -> tuple[str, ...]:
    label = label.strip().strip("\"'").lower()[:60]
    if label in _CHARSETS:
        return _CHARSETS[label]
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return ("utf-8",)
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return ("utf-8",)
    return (info.name,)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """``data`` as text under the charset label ``charset``; unknown labels read as UTF-8."""
    candidates = _codecs_for(charset or "")
    for name in candidates:
        try:
            return _iso2022jp_cp932(data) if name == "cp50221" else data.decode(name)
        except (UnicodeError, LookupError, ValueError):
            continue
    first = candidates[0] if candidates[0] != "iso2022_jp" else "iso2022_jp_ext"
    try:
        return data.decode(first, errors="replace")
    except (LookupError, ValueError, UnicodeError):
        return data.decode("utf-8", errors="replace")


_JIS_ESCAPES = {b"\x1b(B": "ascii", b"\x1b(J": "ascii", b"\x1b$@": "jis", b"\x1b$B": "jis", b"\x1b(I": "kana"}


def _iso2022jp_cp932(data: bytes) -> str:
    """ISO-2022-JP as Windows writes it (CP50221), with the NEC and IBM extension rows (①, ㈱)
    that Python's iso2022_jp codecs refuse: re-encoded as Shift_JIS and read as cp932."""
    out = bytearray()
    mode = "ascii"
    i = 0
    while i < len(data):
        if data[i] == 0x1B and data[i:i + 3] in _JIS_ESCAPES:
            mode = _JIS_ESCAPES[data[i:i + 3]]
            i += 3
        elif mode == "jis" and data[i] not in b"\r\n":
            out += _jis_to_sjis(data[i], data[i + 1] if i + 1 < len(data) else 0)
            i += 2
        else:
            out.append(data[i] + 0x80 if mode == "kana" and 0x21 <= data[i] <= 0x5F else data[i])
            i += 1
    return out.decode("cp932")


def _jis_to_sjis(high: int, low: int) -> bytes:
    if not (0x21 <= high <= 0x7E and 0x21 <= low <= 0x7E):
        raise UnicodeError("not a JIS X 0208 pair")
    first = (high + 1) // 2 + (0x70 if high <= 0x5E else 0xB0)
    if high % 2:
        second = low + 0x1F + (1 if low + 0x1F >= 0x7F else 0)
    else:
        second = low + 0x7E
    return bytes((first, second))


# ---------------------------------------------------------------- HTML

def html_to_text(html: str, for_reply: bool = False) -> str:
    """Readable text of an HTML body: blocks and <br> make lines, list items bullets, quotes
    become "> " lines. ``for_reply`` also drops what clients mark as quoted history or
    signature (Outlook's reply header and all after it, Gmail/Thunderbird signatures)."""
    return html_texts(html)[1 if for_reply else 0]


def html_texts(html: str) -> tuple[str, str]:
    """The text of an HTML body, and the part of it to look for the reply in (one pass)."""
    converter = _HtmlText()
    try:
        converter.feed(html[:MAX_HTML])
        converter.close()
    except Exception:  # html.parser is lenient, but keep what was read on any surprise
        pass
    return converter.text.result(), converter.reply.result()


_BLOCKS = {"address", "article", "aside", "blockquote", "center", "dd", "details", "dialog", "div", "dl",
           "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
           "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody",
           "thead", "tfoot", "tr", "ul", "body", "html"}
# blocks with a blank line around them (not Word's MsoNormal paragraphs, which have no margins)
_PARAGRAPHS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre"}
_SKIPPED = {"head", "style", "script", "title", "template", "noscript", "xml", "svg", "object"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
         "wbr", "param"}
# class/id names that mark quoted history (rendered as "> " lines) in the major clients
_QUOTE_MARKS = {"gmail_attr", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote", "mail-quote-collapse",
                "zmail_extra"}
# elements that start the quoted history in Outlook and Zimbra: they and all after them are not the reply
_CUT_MARKS = {"appendonsend", "divrplyfwdmsg", "zwchr", "outlookmessageheader"}
_SIGNATURE_MARKS = {"gmail_signature", "gmail_signature_prefix", "moz-signature", "applemailsignature",
                    "ms-outlook-mobile-signature"}


def _marked(names: set[str], marks: set[str]) -> bool:
    """Whether a class or id is one of ``marks``; clients prefix them when they quote HTML
    again (Yahoo "ydp5e1b8c4fyahoo_quoted", Outlook "x_divRplyFwdMsg")."""
    return any(name.endswith(mark) for name in names for mark in marks)


class _Lines:
    """Text laid out line by line, each line with the quote depth it started at."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line: list[str] = []
        self.depth = 0

    def add(self, text: str, depth: int, pre: bool = False) -> None:
        if not pre and not "".join(self.line).strip():
            text = text.lstrip(" ")
        if text and not self.line:
            self.depth = depth
        self.line.append(text)

    def flush(self, depth: int, force: bool = False) -> None:
        line = "".join(self.line)
        force = force or "\xa0" in line  # a block holding only &nbsp; is how editors write an empty line
        line = line.strip() if self.depth else line.rstrip()
        if line.strip() or force:
            quote_depth = self.depth if line.strip() else depth
            self.lines.append(("> " * quote_depth + line).rstrip())
        self.line = []

    def paragraph(self, depth: int) -> None:
        """Ends the line and leaves a blank one, as margins around a paragraph do."""
        self.flush(depth)
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(("> " * depth).rstrip())

    def result(self) -> str:
        self.flush(0)
        lines: list[str] = []
        for line in (line.rstrip() for line in self.lines):
            if not line.strip("> ") and lines and not lines[-1].strip("> "):
                continue  # one empty line is enough, quoted or not
            lines.append(line)
        return "\n".join(lines).strip("\n").replace("\xa0", " ")


class _HtmlText(HTMLParser):
    """Lays out an HTML body twice in one pass: all of it, and the part that can be the reply
    (not after Outlook's reply header, not inside a marked signature)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = _Lines()
        self.reply = _Lines()
        self.stack: list[tuple[str, set[str]]] = []
        self.open: dict[str, int] = {}  # tag -> how many are on the stack
        self.effects = {"skip": 0, "quote": 0, "pre": 0, "signature": 0}
        self.lists: list[int] = []  # per open list: the last item number, -1 for bullets
        self.cut = False

    def _sinks(self, data: bool = False) -> list[_Lines]:
        if self.cut or data and self.effects["signature"]:
            return [self.text]
        return [self.text, self.reply]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for key, value in attrs if key in ("class", "id") and value for name in value.lower().split()}
        if _marked(names, _CUT_MARKS):
            self.reply.flush(self.effects["quote"])
            self.cut = True
        paragraph = tag in _PARAGRAPHS and "msonormal" not in names
        if tag in _BLOCKS:
            self._break(paragraph)
        if tag == "br":
            for sink in self._sinks():
                sink.flush(self.effects["quote"], force=True)
        elif tag in ("td", "th"):
            self._data(" ")
        elif tag == "li":
            self._bullet()
        if tag not in _VOID:
            self._open(tag, self._effects(tag, names) | ({"paragraph"} if paragraph else set()))

    def _effects(self, tag: str, names: set[str]) -> set[str]:
        effects = set()
        if tag in _SKIPPED:
            effects.add("skip")
        if _marked(names, _SIGNATURE_MARKS):
            effects.add("signature")
        if tag == "blockquote" or _marked(names, _QUOTE_MARKS):
            effects.add("quote")
        if tag == "pre":
            effects.add("pre")
        if tag in ("ul", "ol"):
            self.lists.append(0 if tag == "ol" else -1)
            effects.add("list")
        return effects

    def _open(self, tag: str, effects: set[str]) -> None:
        if len(self.stack) >= MAX_DEPTH:  # deeper nesting is flattened
            if "list" in effects:
                self.lists.pop()
            return
        for effect in effects & self.effects.keys():
            self.effects[effect] += 1
        self.stack.append((tag, effects))
        self.open[tag] = self.open.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if not self.open.get(tag):
            return
        while self.stack:
            open_tag, effects = self.stack.pop()
            self.open[open_tag] -= 1
            if open_tag in _BLOCKS:
                self._break("paragraph" in effects)
            if "list" in effects and self.lists:
                self.lists.pop()
            for effect in effects & self.effects.keys():
                self.effects[effect] -= 1
            if open_tag == tag:
                break

    def _bullet(self) -> None:
        if self.lists and self.lists[-1] >= 0:
            self.lists[-1] += 1
            self._data(f"{self.lists[-1]}. ")
        else:
            self._data("• ")

    def _break(self, paragraph: bool) -> None:
        for sink in self._sinks():
            if paragraph:
                sink.paragraph(self.effects["quote"])
            else:
                sink.flush(self.effects["quote"])

    def handle_data(self, data: str) -> None:
        if self.effects["skip"]:
            return
        if not self.effects["pre"]:
            self._data(re.sub(r"[ \t\r\n\f]+", " ", data))
            return
        for index, part in enumerate(data.replace("\r\n", "\n").split("\n")):
            if index:
                for sink in self._sinks():
                    sink.flush(self.effects["quote"], force=True)
            self._data(part)

    def _data(self, text: str) -> None:
        for sink in self._sinks(data=True):
            sink.add(text, self.effects["quote"], pre=bool(self.effects["pre"]))
