"""The email that carries unseen operator answers to the visitor. Pure: no I/O.

Plain-text and HTML parts (every operator string escaped in the HTML), the site's name and
colour, the visitor's language, a link back to the chat, a working unsubscribe link (also as
List-Unsubscribe with one-click POST, RFC 8058) and threading headers. SES replaces the
Message-ID, so the thread is kept by In-Reply-To/References to the ids SES gave earlier emails.
"""
from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid
from html import escape

from chalicelib.shared.sources import first_language

REPLY_MARKER = "##- Please type your reply above this line -##"
MAX_REFERENCES = 10

_TEXTS: dict[str, dict[str, str]] = {
    "en": {"subject": "Your conversation with {site}", "wrote": "{name} from {site} wrote:",
           "hint": "Reply to this email to answer: your reply goes straight into the chat.",
           "open": "Continue in the chat", "stop": "Stop emailing me answers",
           "rate": "How did we do?", "good": "Good", "bad": "Bad",
           "file": "Attached in the chat: {name}"},
    "ru": {"subject": "Ваш разговор с {site}", "wrote": "{name} из {site} пишет:",
           "hint": "Ответьте на это письмо: ответ сразу попадёт в чат.",
           "open": "Продолжить в чате", "stop": "Не присылать ответы на почту",
           "rate": "Оцените нашу помощь", "good": "Хорошо", "bad": "Плохо",
           "file": "Файл в чате: {name}"},
    "ja": {"subject": "{site}とのお問い合わせ", "wrote": "{site}の{name}からの返信:",
           "hint": "このメールに返信すると、そのままチャットに届きます。",
           "open": "チャットで続ける", "stop": "回答をメールで受け取らない",
           "rate": "対応はいかがでしたか？", "good": "良い", "bad": "悪い",
           "file": "チャットに添付: {name}"},
    "zh": {"subject": "您与{site}的对话", "wrote": "{site}的{name}回复：",
           "hint": "直接回复此邮件即可，您的回复会进入聊天。",
           "open": "在聊天中继续", "stop": "不再通过邮件接收回复",
           "rate": "您对我们的服务满意吗？", "good": "满意", "bad": "不满意",
           "file": "聊天中的附件：{name}"},
    "es": {"subject": "Tu conversación con {site}", "wrote": "{name} de {site} escribió:",
           "hint": "Responde a este correo: tu respuesta llegará directamente al chat.",
           "open": "Continuar en el chat", "stop": "No enviarme las respuestas por correo",
           "rate": "¿Qué tal le atendimos?", "good": "Bien", "bad": "Mal",
           "file": "Adjunto en el chat: {name}"},
    "de": {"subject": "Ihr Gespräch mit {site}", "wrote": "{name} von {site} schrieb:",
           "hint": "Antworten Sie einfach auf diese E-Mail: Ihre Antwort landet direkt im Chat.",
           "open": "Im Chat weiterschreiben", "stop": "Keine Antworten mehr per E-Mail",
           "rate": "Wie waren wir?", "good": "Gut", "bad": "Schlecht",
           "file": "Im Chat angehängt: {name}"},
}
LANGUAGES = tuple(_TEXTS)


@dataclass(frozen=True)
class Answer:
    author: str
    text: str
    file_name: str | None = None


@dataclass(frozen=True)
class Mirror:
    site_name: str
    accent: str
    language: str
    from_address: str
    to: str
    reply_to: str
    chat_link: str
    unsubscribe_link: str
    answers: tuple[Answer, ...]
    rate_link: str = ""  # + "&s=good" or "&s=bad": the rating page (chalicelib.routing.ratings)
    subject: str | None = None  # the thread's subject, once one was sent
    in_reply_to: str | None = None  # the thread's newest Message-ID
    references: tuple[str, ...] = ()


def language_of(*candidates: str | None) -> str:
    """The first candidate (e.g. "ru-RU", the site's setting) Parley writes emails in."""
    return first_language(_TEXTS, *candidates)


def subject_of(mirror: Mirror) -> str:
    if mirror.subject:
        return mirror.subject
    return _TEXTS[mirror.language]["subject"].format(site=mirror.site_name)[:200]


def build(mirror: Mirror) -> EmailMessage:
    """The email, ready for SESv2's raw content."""
    texts = _TEXTS[mirror.language]
    author = mirror.answers[-1].author
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((f"{author} ({mirror.site_name})"[:120], mirror.from_address))
    message["To"] = mirror.to
    message["Reply-To"] = mirror.reply_to
    message["Subject"] = subject_of(mirror)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=mirror.from_address.rpartition("@")[2] or None)
    if mirror.in_reply_to:
        message["In-Reply-To"] = _bracketed(mirror.in_reply_to)
        references = [*mirror.references, mirror.in_reply_to][-MAX_REFERENCES:]
        message["References"] = " ".join(_bracketed(ref) for ref in dict.fromkeys(references))
    message["List-Unsubscribe"] = f"<{mirror.unsubscribe_link}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"  # mailers send no vacation replies to it
    message["Content-Language"] = mirror.language
    message.set_content(_text(mirror, texts))
    message.add_alternative(_html(mirror, texts), subtype="html")
    return message


def _bracketed(ref: str) -> str:
    return ref if ref.startswith("<") else f"<{ref}>"


def _answer_lines(answer: Answer, texts: dict[str, str]) -> list[str]:
    lines = [answer.text] if answer.text else []
    if answer.file_name:
        lines.append(texts["file"].format(name=answer.file_name))
    return lines


def _text(mirror: Mirror, texts: dict[str, str]) -> str:
    parts = [REPLY_MARKER, ""]
    previous = None
    for answer in mirror.answers:
        if answer.author != previous:
            parts += [texts["wrote"].format(name=answer.author, site=mirror.site_name), ""]
            previous = answer.author
        parts += [*_answer_lines(answer, texts), ""]
    parts += ["--", texts["hint"], f"{texts['open']}: {mirror.chat_link}"]
    if mirror.rate_link:
        parts += [f"{texts['rate']} {texts['good']}: {mirror.rate_link}&s=good",
                  f"{texts['rate']} {texts['bad']}: {mirror.rate_link}&s=bad"]
    parts += [f"{texts['stop']}: {mirror.unsubscribe_link}", ""]
    return "\n".join(parts)


def _rating_html(mirror: Mirror, texts: dict[str, str]) -> str:
    if not mirror.rate_link:
        return ""
    links = " ".join(f'<a href="{escape(mirror.rate_link + "&s=" + score, quote=True)}" style="margin-right:12px">'
                     f'{icon} {escape(texts[score])}</a>' for score, icon in (("good", "👍"), ("bad", "👎")))
    return f'<p style="color:#555;font-size:13px">{escape(texts["rate"])} {links}</p>'


def _html(mirror: Mirror, texts: dict[str, str]) -> str:
    accent = escape(mirror.accent)
    blocks = []
    previous = None
    for answer in mirror.answers:
        if answer.author != previous:
            blocks.append(f'<p style="margin:16px 0 4px;color:#555;font-size:13px">'
                          f'{escape(texts["wrote"].format(name=answer.author, site=mirror.site_name))}</p>')
            previous = answer.author
        body = "<br>".join(escape(line) for line in "\n".join(_answer_lines(answer, texts)).split("\n"))
        blocks.append(f'<div style="margin:0 0 8px;padding:10px 14px;border-left:3px solid {accent};'
                      f'background:#f6f7f9;white-space:normal">{body}</div>')
    return (
        f'<!doctype html><html lang="{escape(mirror.language)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"></head>'
        f'<body style="margin:0;padding:0;font-family:-apple-system,Segoe UI,Roboto,Arial,sans-serif;color:#111">'
        f'<div style="max-width:560px;margin:0 auto;padding:16px">'
        f'<p style="color:#888;font-size:12px;margin:0 0 8px">{escape(REPLY_MARKER)}</p>'
        f'<h1 style="font-size:18px;margin:0 0 8px;color:{accent}">{escape(mirror.site_name)}</h1>'
        f'{"".join(blocks)}'
        f'<p style="margin:20px 0"><a href="{escape(mirror.chat_link, quote=True)}" style="background:{accent};'
        f'color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">{escape(texts["open"])}</a></p>'
        f'<p style="color:#555;font-size:13px">{escape(texts["hint"])}</p>'
        f'{_rating_html(mirror, texts)}'
        f'<p style="color:#888;font-size:12px"><a href="{escape(mirror.unsubscribe_link, quote=True)}" '
        f'style="color:#888">{escape(texts["stop"])}</a></p>'
        f'</div></body></html>'
    )
