"""Header fields of an inbound mail: encoded words, message ids, addresses, the date, and
whether a machine sent it. Values are untrusted: lengths are capped and controls dropped."""
from __future__ import annotations

import codecs
import re
from datetime import UTC
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from chalicelib.mail.charsets import decode_bytes
from chalicelib.mail.text import oneline, strip_controls

MAX_NAME = 200
MAX_IDS = 100


class Headers:
    """Header values as sent (first occurrence), with 8-bit bytes read as UTF-8 (RFC 6532)."""

    def __init__(self, msg: Message) -> None:
        self._values: dict[str, str] = {}
        for name, value in msg.raw_items():
            key = str(name).lower()
            if key not in self._values:
                self._values[key] = unsurrogate(str(value))[:20_000]

    def raw(self, name: str) -> str:
        return self._values.get(name, "")

    def decoded(self, name: str) -> str:
        return decode_words(self.raw(name))


def unsurrogate(value: str) -> str:
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


_MESSAGE_ID = re.compile(r"<([^<>\s]{1,500})>")


def message_ids(value: str) -> tuple[str, ...]:
    found = _MESSAGE_ID.findall(value)
    if not found and value.strip() and len(value.split()) == 1:
        found = [value.strip()[:500]]  # some clients send ids without brackets
    unique = tuple(dict.fromkeys(strip_controls(item) for item in found))
    return unique[:MAX_IDS]


_ADDR_SPEC = re.compile(r"[^@\s<>(),;:\"]{1,64}@[^@\s<>(),;:\"]{1,255}")


def _parsed_addresses(value: str) -> list[tuple[str, str]]:
    try:
        pairs = getaddresses([value[:20_000]])
    except Exception:  # a pathological header; treat as no address
        return []
    found: list[tuple[str, str]] = []
    for name, addr in pairs:
        addr = addr.strip().lower()
        if _ADDR_SPEC.fullmatch(addr):
            found.append((name, addr))
    return found


def first_address(value: str) -> tuple[str, str]:
    """The display name and the addr-spec of the first usable address; ("", "") when none is."""
    pairs = _parsed_addresses(value)
    if not pairs:
        return "", ""
    name, addr = pairs[0]
    return oneline(decode_words(name)).strip("\"' ")[:MAX_NAME], addr


def addresses(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addr for _, addr in _parsed_addresses(value)))[:MAX_IDS]


def date_ms(value: str) -> int | None:
    """The Date header as epoch milliseconds (UTC when it names no zone); None when unreadable."""
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


def auto_reply(msg: Message, headers: Headers, from_address: str) -> bool:
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
