"""What the sender of an email reply wrote, without the quoted history and the signature. Pure.

Mail clients quote in three ways, all handled here: "> " prefixed lines under a header line
("On … wrote:", "Am … schrieb …:", "23.11.2026, 14:03, "Shop" <…>:" and their translations),
a header block after a separator ("-----Original Message-----" or a rule, then From/Sent/To/
Subject in the client's language), and Parley's own marker line above the history it sends.
Answers written between quoted lines (inline replies) are kept.
"""
from __future__ import annotations

import re

MARKER = "##- Please type your reply above this line -##"
_MAX_HEADER = 400  # longer lines are text, not a client's quote header

_SEPARATOR = re.compile(
    r"-{2,}\s*(?:original|original message|original nachricht|ursprüngliche nachricht|message d'origine|"
    r"mensaje original|mensagem original|messaggio originale|oorspronkelijk bericht|"
    r"oryginalna wiadomość|původní zpráva|originalmeddelande|opprinnelig melding|oprindelig meddelelse|"
    r"alkuperäinen viesti|eredeti üzenet|orijinal mesaj|исходное сообщение|оригинальное сообщение|"
    r"原始邮件|原始郵件|原始信件|元のメッセージ|원본 메시지)\s*-{2,}"
    r"|-{2,}\s*on\b.{0,300}\bwrote\s*-{2,}",  # Zoho: "---- On Mon, … Shop <…> wrote ----"
    re.IGNORECASE)
_RULE = re.compile(r"_{10,}|-{10,}|={10,}")


def _field(names: str) -> re.Pattern[str]:
    return re.compile(r"\*?(?:" + names + r")\*?\s*[:：]", re.IGNORECASE)


_FROM = _field("from|von|de|da|van|od|från|fra|lähettäjä|feladó|kimden|от|差出人|送信者|发件人|發件人|寄件者|"
               "寄件人|보낸 사람")
_SENT = _field("sent|date|gesendet|datum|envoyé|enviado|enviada|fecha|inviato|data|verzonden|skickat|sendt|"
               "lähetetty|elküldve|tarih|отправлено|дата|送信日時|日時|日付|发送时间|發送時間|时间|時間|日期|"
               "傳送時間|寄件日期|보낸 날짜")
_TO = _field("to|an|à|a|para|aan|do|till|til|vastaanottaja|címzett|kime|кому|宛先|收件人|收件者|받는 사람|"
              "cc|kopie|копия|抄送|副本|reply to|antwort an")
_SUBJECT = _field("subject|betreff|objet|asunto|oggetto|assunto|onderwerp|temat|předmět|ämne|emne|aihe|"
                  "tárgy|konu|тема|件名|主题|主題|主旨|제목")

_WROTE = re.compile(
    r"(?:wrote|a écrit|a ecrit|escribió|escribio|ha scritto|escreveu|schreef|skrev|kirjoitti|yazdı|írta|"
    r"napisał\(a\)|napisała|napisał|napsal\(a\)|napsala|napsal|пишет|писал\(а\)|писала|писали|писал|"
    r"написал\(а\)|написала|написал|написали|書きました|のメール|写道|寫道|작성)\s*[:：]$",
    re.IGNORECASE)
_VERB_INSIDE = re.compile(r"^(?:am|op|den|dne)\b.{0,250}\b(?:schrieb|schreef|skrev|napsal\w*)\b.{0,250}[:：]$",
                          re.IGNORECASE)
_DATED_ADDRESS = re.compile(r"^(?=.*\d).{0,300}<[^<>\s]+@[^<>\s]+>\s*[:：]$")
# a first line that may continue on the next one as part of a wrapped quote header
_HEADER_START = re.compile(r"^(?:(?:on|le|am|el|il|em|op|den|dne|w dniu|в)\b|\d|在)|<[^<>]*@|<$|\d:\d\d",
                           re.IGNORECASE)
# any other short line ending in ":" that names an address or a time, when quoted lines follow
_INTRO = re.compile(r"^(?=.*(?:<[^<>\s]+@[^<>\s]+>|\d:\d\d|(?<!\d)(?:19|20)\d\d(?!\d)|\d[./-]\d{1,2}[./-]\d)).{0,400}[:：]$")
# a header naming an address or a date is a client's, even without "> " lines after it
_STRONG = re.compile(r"@|\d")

_LINK = r"(?:\s*[<\[(]?https?://\S*[>\])]?)?"
_DEVICE = r"(?:iphone|ipad|ipod|galaxy|android|smartphone|phone|tablet|mobile|handy|blackberry|huawei|xiaomi|pixel|samsung)"
_FOOTERS = [re.compile(pattern + _LINK + r"\.?", re.IGNORECASE) for pattern in (
    r"sent from my (?:[\w+\- ]{0,30} )?" + _DEVICE + r"[\w+\- ]{0,20}",
    r"sent from (?:mail|outlook) for (?:windows(?: 1[01])?|ios|android|mac)",
    r"sent from outlook",
    r"get outlook for (?:ios|android|mac)",
    r"sent from (?:the )?(?:all new )?(?:yahoo mail|aol|aol mail)(?: app)?(?: (?:on|for) (?:android|iphone|ipad|ios))?",
    r"sent (?:from|via) (?:the )?samsung[\w\- ]{0,40}",
    r"sent from (?:proton ?mail|gmail)(?: mobile| for \w+)?",
    r"отправлено (?:с|со|из) (?:моего )?(?:iphone|ipad|android|samsung|galaxy|huawei|xiaomi)[\w\- ]{0,20}",
    r"отправлено из мобильной (?:почты mail\.ru|яндекс\.?\s?почты)",
    r"отправлено из (?:приложения )?(?:яндекс\.?\s?почты|yandex ?mail|почты mail\.ru)(?: для (?:ios|android))?",
    r"(?:iphone|ipad|android|galaxy|outlook for (?:ios|android))\s?から送信",
    r"发自我的(?:iphone|ipad|手机|华为手机|小米手机|荣耀手机|oppo手机|vivo手机|[\w ]{1,15}手机)",
    r"(?:從|从)我的 ?(?:iphone|ipad|android)(?: ?傳送| ?发送)",
    r"von meinem (?:iphone|ipad|smartphone|handy|android[\w\- ]{0,20}|samsung[\w\- ]{0,30}|galaxy[\w\- ]{0,30}) gesendet",
    r"gesendet (?:von|mit) (?:meinem )?(?:iphone|ipad|android|samsung[\w\- ]{0,30})",
    r"enviado desde mi (?:iphone|ipad|smartphone|android|samsung[\w\- ]{0,30}|galaxy[\w\- ]{0,30}|móvil|celular)",
    r"enviado do meu (?:iphone|ipad|smartphone|android|samsung[\w\- ]{0,30}|galaxy[\w\- ]{0,30}|celular)",
    r"envoyé (?:de|depuis) mon (?:iphone|ipad|smartphone|mobile|android|samsung[\w\- ]{0,30})",
    r"inviato da(?:l)? (?:mio )?(?:iphone|ipad|smartphone|android|samsung[\w\- ]{0,30})",
    r"verzonden (?:met|vanaf|van) mijn (?:iphone|ipad|smartphone|android|samsung[\w\- ]{0,30})",
)]


def strip_reply(text: str) -> str:
    """The part of ``text`` (an email body as plain text) that its sender wrote: quoted history,
    quote headers, Parley's marker and everything below it, and the signature removed."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = lines[:_history_start(lines)]
    own = _without_quotes(lines)
    # a message that is nothing but a signature is still what its sender wrote
    return _tidy(_without_signatures(own)) or _tidy(own)


def _history_start(lines: list[str]) -> int:
    """Index of the first line of unquoted history: Parley's marker, an "Original Message"
    separator, or an Outlook-style header block (after a rule or on its own)."""
    for index, line in enumerate(lines):
        bare = line.strip()
        if MARKER in bare and not _is_quoted(bare) or _SEPARATOR.fullmatch(bare) or _header_block(lines, index):
            return index
        if _RULE.fullmatch(bare) and _header_block(lines, _next_text(lines, index + 1)):
            return index
    return len(lines)


def _header_block(lines: list[str], index: int | None) -> bool:
    """Whether a header block starts at ``index``: a run of header fields (at most 10 lines,
    no blank line) naming a sender, a date and a subject, in any of the usual languages, as
    Outlook, Samsung, QQ, GMX and others write above the history they quote without "> "."""
    if index is None or index >= len(lines) or not _is_field(lines[index]):
        return False
    seen: set[str] = set()
    for line in lines[index:index + 10]:
        bare = line.strip()
        if not bare:
            break
        for kind, field in (("from", _FROM), ("sent", _SENT), ("subject", _SUBJECT)):
            if field.match(bare):
                seen.add(kind)
    return len(seen) == 3


def _is_field(line: str) -> bool:
    bare = line.strip()
    return any(field.match(bare) for field in (_FROM, _SENT, _TO, _SUBJECT))


def _next_text(lines: list[str], start: int) -> int | None:
    for index in range(start, len(lines)):
        if lines[index].strip():
            return index
    return None


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _without_quotes(lines: list[str]) -> list[str | None]:
    """The unquoted lines, quote headers dropped; a removed block leaves a None. A client's
    quote header followed by unquoted text (clients that quote without "> ") ends the reply."""
    own: list[str | None] = []
    index = 0
    while index < len(lines):
        if _is_quoted(lines[index]):
            own.append(None)
            index += 1
            continue
        size, strong = _quote_header(lines, index)
        after = _next_text(lines, index + size) if size else None
        if size and (after is None or _is_quoted(lines[after])):
            own.append(None)
            index += size
        elif size and strong:
            break
        else:
            own.append(lines[index])
            index += 1
    return own


def _quote_header(lines: list[str], index: int) -> tuple[int, bool]:
    """How many lines (1-3) a quote header starting at ``index`` spans (0 if none does), and
    whether it has a known client's shape (else it is only a header if quoted lines follow).
    Clients wrap long headers, even inside the <address>."""
    parts: list[str] = []
    for line in lines[index:index + 3]:
        line = line.strip()
        if not line or _is_quoted(line) or (parts and not _HEADER_START.search(parts[0])):
            break
        parts.append(line)
        joined = re.sub(r"<\s+", "<", " ".join(parts))
        if len(joined) > _MAX_HEADER:
            break
        if _WROTE.search(joined) or _VERB_INSIDE.match(joined) or _DATED_ADDRESS.match(joined):
            return len(parts), bool(_STRONG.search(joined))
        if _INTRO.match(joined):
            return len(parts), False
    return 0, False


def _without_signatures(own: list[str | None]) -> list[str | None]:
    """Signatures ("-- " and all below it, or a mobile footer line and what follows) removed,
    each up to the next quoted block: inline answers below a quote are kept."""
    kept: list[str | None] = []
    signature = False
    for line in own:
        if line is None:
            signature = False
        elif line == "--" or any(footer.fullmatch(line.strip()) for footer in _FOOTERS):
            signature = True
        if not signature:
            kept.append(line)
    return kept


def _tidy(lines: list[str | None]) -> str:
    text = "\n".join(line.rstrip() if line else "" for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()
