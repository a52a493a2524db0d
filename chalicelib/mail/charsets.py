"""Bytes under a mail charset label -> text, tolerant of the labels and bytes clients really send.

Labels map to the codecs that read what clients write under them (``gb2312`` mail is GB18030,
``iso-8859-1`` mail is Windows-1252); unknown labels read as UTF-8; nothing here raises.
"""
from __future__ import annotations

import codecs

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
