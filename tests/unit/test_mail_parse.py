"""Inbound email: a visitor's reply, from any mail client, becomes exactly what they wrote.

The corpus (tests/mail_corpus) holds real-shaped replies from the major clients and languages,
each with the chat message it must give; the rest checks what a user would notice besides:
charsets, attachments, HTML-only mail, auto-replies, and that no input makes parsing fail.
"""
from __future__ import annotations

import email
import email.policy
import json
import os
import subprocess
import sys
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.mail.parse import ParsedMail, html_to_text, parse
from chalicelib.mail.quotes import strip_reply

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parents[1] / "mail_corpus"
MAILS = sorted(CORPUS.glob("*.eml"))
PARLEY_ID = "0100018c2f5e8d2a-1b2c3d4e-5f6a-7b8c-9d0e-1f2a3b4c5d6e-000000@email.amazonses.com"
MARKER = "##- Please type your reply above this line -##"


def expected(path: Path) -> str:
    return path.with_suffix(".expected.txt").read_text("utf-8").rstrip("\n")


def corpus(name: str) -> ParsedMail:
    return parse((CORPUS / f"{name}.eml").read_bytes())


def test_the_corpus_covers_many_clients() -> None:
    assert len(MAILS) >= 24
    assert len({path.stem.split("-")[1] for path in MAILS}) >= 15  # client families
    assert all(path.with_suffix(".expected.txt").exists() for path in MAILS)


@pytest.mark.parametrize("path", MAILS, ids=[path.stem for path in MAILS])
def test_the_chat_message_is_what_the_sender_wrote(path: Path) -> None:
    assert parse(path.read_bytes()).reply == expected(path)


def _html_alternative_only(raw: bytes) -> bytes | None:
    """The mail as if its client had sent the HTML part alone (None if it has no HTML part)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    found = False
    for part in msg.walk():
        if part.get_content_type() == "multipart/alternative":
            html = [child for child in part.get_payload() if child.get_content_type() == "text/html"]
            found = found or bool(html)
            part.set_payload(html)
    return msg.as_bytes() if found else None


HTML_MAILS = [path for path in MAILS if b"multipart/alternative" in path.read_bytes()]


@pytest.mark.parametrize("path", HTML_MAILS, ids=[path.stem for path in HTML_MAILS])
def test_the_html_part_alone_gives_the_same_message(path: Path) -> None:
    """Quote containers (gmail_quote, blockquote, divRplyFwdMsg, moz-cite-prefix…) are removed
    from HTML as reliably as quoted lines from plain text."""
    html_only = _html_alternative_only(path.read_bytes())
    assert html_only is not None
    mail = parse(html_only)
    assert mail.html_only
    assert mail.reply == expected(path)


def test_threading_headers_and_sender() -> None:
    mail = corpus("01-gmail-web-top-posted")
    assert mail.message_id == "CAN7x3Qd8fPz=W1c5K+vY0nq2mXh4aPzL9RkUo0g_bE6u1T3Jw@mail.gmail.com"
    assert mail.in_reply_to == (PARLEY_ID,)
    assert mail.references == (PARLEY_ID,)
    assert mail.from_address == "maria.lopez.dev@gmail.com"
    assert mail.from_name == "Maria Lopez"
    assert mail.recipients == ("reply+d_8f3k2m9x1q.k7v2mq4z9x@mail.shop.example",)
    assert mail.subject == "Re: Your conversation with ACME Shop"
    assert mail.date_ms == 1795443654000  # Mon, 23 Nov 2026 15:20:54 +0100
    assert not mail.auto_reply and not mail.html_only
    folded = corpus("04-outlook-web-owa")  # "Message-ID:" folded onto the next line
    assert folded.message_id == "AM9PR02MB7491C3E1B2A45F8D6A1B9C3DE2A92@AM9PR02MB7491.eurprd02.prod.outlook.com"


def test_full_text_keeps_the_quoted_history() -> None:
    mail = corpus("03-outlook-windows-desktop")
    assert mail.text.startswith(mail.reply)
    assert "Sent: Monday, November 23, 2026 2:03 PM" in mail.text
    assert MARKER in mail.text


# ---------------------------------------------------------------- command line

def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "chalicelib.mail", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, timeout=60)


def test_cli_prints_the_chat_message() -> None:
    path = CORPUS / "27-becky-iso-2022-jp.eml"
    run = _cli(str(path))
    assert run.returncode == 0
    assert run.stdout == (expected(path) + "\n").encode("utf-8")


def test_cli_reads_stdin_and_prints_full_text_and_json() -> None:
    raw = (CORPUS / "33-gmail-pdf-attachment.eml").read_bytes()
    full = _cli("--full", "-", stdin=raw)
    assert full.returncode == 0
    assert b"> " + MARKER.encode() in full.stdout
    fields = json.loads(_cli("--json", "-", stdin=raw).stdout)
    assert fields["from_address"] == "maria.lopez.dev@gmail.com"
    assert fields["attachments"] == [
        {"name": "Rechnung Nr. 2026-10417 – Größe S.pdf", "content_type": "application/pdf", "size": 20399}]


def test_cli_fails_cleanly_on_an_unreadable_file(tmp_path: Path) -> None:
    run = _cli(str(tmp_path / "missing.eml"))
    assert run.returncode == 2
    assert run.stdout == b""
    assert len(run.stderr.decode().strip().splitlines()) == 1


# ---------------------------------------------------------------- charsets

@pytest.mark.parametrize("name, words", [
    ("25-the-bat-koi8-r-bottom-posted", ["Отложите, пожалуйста, размер M"]),
    ("24-mailru-mobile-windows-1251", ["Добрый день!", "Оплачу картой"]),
    ("23-yandex-ru-utf8", ["Заберу в пятницу"]),
    ("27-becky-iso-2022-jp", ["お取り置きをお願いいたします", "㈱山田商事", "① 受け取り"]),
    ("28-outlook-ja-shift-jis-qp", ["土曜日に伺います", "佐藤 花子"]),
    ("30-qq-mail-iphone-gb2312", ["保留到周五"]),
    ("31-netease-163-gbk", ["可以开发票吗", "李明"]),
    ("16-outlook-de-iso-8859-1", ["zurücklegen", "Grüßen"]),
])
def test_national_charsets_are_decoded(name: str, words: list[str]) -> None:
    mail = corpus(name)
    for word in words:
        assert word in mail.reply
    assert "\ufffd" not in mail.text


@pytest.mark.parametrize("name, sender, subject", [
    ("25-the-bat-koi8-r-bottom-posted", "Иван Петров", "Re: Ваш разговор с ACME Shop"),
    ("27-becky-iso-2022-jp", "山田 太郎", "Re: ACME Shopとのお問い合わせ"),
    ("31-netease-163-gbk", "李明", "Re:您与ACME Shop的对话"),
    ("30-qq-mail-iphone-gb2312", "王芳", "回复：您与ACME Shop的对话"),
    ("16-outlook-de-iso-8859-1", "Klaus Müller", "AW: Ihr Gespräch mit ACME Shop"),
    ("34-gmail-ios-emoji-non-bmp", "Olivia Chen", "Re: Your conversation with ACME Shop 🎉"),
])
def test_sender_names_and_subjects_are_decoded(name: str, sender: str, subject: str) -> None:
    mail = corpus(name)
    assert (mail.from_name, mail.subject) == (sender, subject)


def _mail(body: bytes, headers: str) -> bytes:
    return (f"From: a@b.example\nTo: {headers}\n".encode() + b"\n" + body).replace(b"\n", b"\r\n")


@pytest.mark.parametrize("label, body, text", [
    ("x-gbk", "请保留".encode("gbk"), "请保留"),
    ("gb2312", "𠮷野家 €".encode("gb18030"), "𠮷野家 €"),  # GB2312 label, GB18030 bytes
    ("ks_c_5601-1987", "감사합니다".encode("cp949"), "감사합니다"),
    ("unicode-1-1-utf-7", "Grüße".encode("utf-7"), "Grüße"),
    ("big5", "謝謝".encode("cp950"), "謝謝"),
    ("iso-8859-1", "“quoted” café".encode("cp1252"), "“quoted” café"),
    ("euc-jp", "ありがとう".encode("euc_jp"), "ありがとう"),
    ("x-made-up-charset", b"plain ascii", "plain ascii"),
    ("utf-8", b"broken \xff\xfe bytes", "broken \ufffd\ufffd bytes"),
])
def test_charset_aliases_of_real_clients(label: str, body: bytes, text: str) -> None:
    raw = _mail(body, f"x@y.example\nContent-Type: text/plain; charset=\"{label}\"\nContent-Transfer-Encoding: 8bit")
    assert parse(raw).reply == text


# ---------------------------------------------------------------- attachments

def test_attachment_name_type_and_size() -> None:
    mail = corpus("33-gmail-pdf-attachment")
    [pdf] = mail.attachments
    assert pdf.name == "Rechnung Nr. 2026-10417 – Größe S.pdf"
    assert pdf.content_type == "application/pdf"
    assert len(pdf.data) == 20399 and pdf.data.startswith(b"%PDF-1.4") and pdf.data.endswith(b"%%EOF\n")
    assert pdf.content_id == "f_m3x7k2p40" and not pdf.inline_image
    assert mail.reply == expected(CORPUS / "33-gmail-pdf-attachment.eml")


def test_alternative_bodies_are_not_attachments() -> None:
    assert all(not corpus(path.stem).attachments for path in HTML_MAILS if "attachment" not in path.stem)


def test_inline_signature_logo_and_hostile_file_names() -> None:
    related = MIMEMultipart("related")
    related.attach(MIMEText('<p>Hello</p><img src="cid:logo@acme">', "html"))
    logo = MIMEImage(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "png")
    logo.add_header("Content-ID", "<logo@acme>")
    related.attach(logo)
    outer = MIMEMultipart("mixed")
    outer.attach(related)
    evil = MIMEApplication(b"MZ", "octet-stream")
    evil.add_header("Content-Disposition", "attachment", filename="../../etc/\u202eexe.txt\x07" + "a" * 300 + ".pdf")
    outer.attach(evil)
    mail = parse(outer.as_bytes())
    image, other = mail.attachments
    assert (image.inline_image, image.content_id, image.name) == (True, "logo@acme", "attachment")
    assert not other.inline_image
    assert "/" not in other.name and "\u202e" not in other.name and "\x07" not in other.name
    assert len(other.name) <= 200 and other.name.startswith("exe.txt") and other.name.endswith(".pdf")
    assert mail.reply == "Hello"


def test_a_3_mb_attachment_keeps_its_true_size() -> None:
    data = os.urandom(3 * 1024 * 1024)
    outer = MIMEMultipart("mixed")
    outer.attach(MIMEText("Photos of the damage attached.", "plain"))
    outer.attach(MIMEApplication(data, "zip", Name="photos.zip"))
    mail = parse(outer.as_bytes())
    assert mail.reply == "Photos of the damage attached."
    assert [(item.name, item.content_type, len(item.data)) for item in mail.attachments] == [
        ("photos.zip", "application/zip", len(data))]
    assert mail.attachments[0].data == data


# ---------------------------------------------------------------- HTML

def test_html_only_mail_becomes_text_with_lines() -> None:
    mail = corpus("11-yahoo-web-html-only")
    assert mail.html_only
    assert "Two quick questions before I decide:\n\n• Do you ship to Austria?\n• Can I pay by invoice?" in mail.text
    assert "<" not in mail.reply and "Please type your reply" not in mail.reply


def test_an_empty_plain_alternative_falls_back_to_html() -> None:
    mail = MIMEMultipart("alternative")
    mail.attach(MIMEText(" \n", "plain"))
    mail.attach(MIMEText("<div>Yes, <b>L</b> please</div><blockquote>Which size?</blockquote>", "html"))
    parsed = parse(mail.as_bytes())
    assert (parsed.reply, parsed.text) == ("Yes, L please", "Yes, L please\n> Which size?")


def test_html_to_text() -> None:
    html = ("<html><head><title>t</title><style>p{color:red}</style><script>alert(1)</script></head><body>"
            "<h1>Order&nbsp;&amp; delivery</h1><p>First line<br>second   line</p>"
            "<ol><li>one</li><li>two</li></ol><p>See <a href='https://shop.example/x'>our terms</a> &lt;3</p>"
            "<table><tr><td>Size</td><td>M</td></tr></table><pre>  keep\n  spacing</pre></body></html>")
    assert html_to_text(html) == ("Order & delivery\n\nFirst line\nsecond line\n\n1. one\n2. two\n\n"
                                  "See our terms <3\n\nSize M\n\n  keep\n  spacing")


# ---------------------------------------------------------------- auto-replies

def test_auto_replies_and_bounces_are_flagged() -> None:
    ooo = _mail(b"I am out of the office until Monday.",
                "x@y.example\nSubject: Automatic reply: Your chat\nAuto-Submitted: auto-replied\nContent-Type: text/plain")
    assert parse(ooo).auto_reply
    bounce = (b"From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example>\r\nTo: x@y.example\r\n"
              b"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n"
              b"--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
              b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
              b"Final-Recipient: rfc822; nobody@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n")
    assert parse(bounce).auto_reply
    for header in ("Precedence: bulk", "X-Autoreply: yes", "X-Autorespond: yes", "Precedence: auto_reply"):
        assert parse(_mail(b"Thanks for your message.", f"x@y.example\n{header}")).auto_reply
    assert not parse(_mail(b"Thanks!", "x@y.example\nAuto-Submitted: no")).auto_reply
    assert not any(parse(path.read_bytes()).auto_reply for path in MAILS)


# ---------------------------------------------------------------- never fails

def _assert_sane(mail: ParsedMail) -> None:
    assert isinstance(mail, ParsedMail)
    assert len(mail.text) <= 100_000 and len(mail.reply) <= 100_000 and len(mail.subject) <= 300
    assert not any(ch in mail.reply for ch in "\x00\r\x1b\u202e")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_parse_never_raises_on_arbitrary_bytes(raw: bytes) -> None:
    _assert_sane(parse(raw))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(MAILS), st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 40),
                                                  st.binary(max_size=12)), max_size=6))
def test_parse_never_raises_on_mutated_mails(path: Path, edits: list[tuple[int, int, bytes]]) -> None:
    raw = bytearray(path.read_bytes())
    for position, removed, inserted in edits:
        position %= len(raw) + 1
        raw[position:position + removed] = inserted
    _assert_sane(parse(bytes(raw)))


@pytest.mark.parametrize("raw", [
    b"",
    b"\r\n\r\n",
    b"From: a@b.example\r\nSubject: nothing\r\n\r\n",
    b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: image/png\r\n\r\n--x--",
    b"Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!\r\n",
    b"Content-Type: text/html\r\n\r\n<html><head><style>body{}</style></head><body><br></body></html>",
    b"Content-Type: multipart/mixed; boundary=a\r\n\r\n" + b"--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n" * 500,
])
def test_mail_without_text_gives_an_empty_message(raw: bytes) -> None:
    mail = parse(raw)
    _assert_sane(mail)
    assert (mail.text, mail.reply) == ("", "")


def test_huge_and_deeply_nested_input_is_capped() -> None:
    mail = parse(b"Subject: " + b"x" * 200_000 + b"\r\n\r\n" + b"y" * 300_000)
    assert mail.subject == "x" * 300 and mail.reply == "y" * 100_000
    nested = parse(b"Content-Type: text/html\r\n\r\n" + b"<div>" * 50_000 + b"deep" + b"</span>" * 50_000)
    assert nested.reply == "deep"


# ---------------------------------------------------------------- quote stripping

SHOP_TEXT = f"> {MARKER}\n>\n> Anna (ACME Shop), 14:03:\n> Shall I reserve it?\n"


@pytest.mark.parametrize("text, reply", [
    # translated Outlook header blocks, with the history unquoted below them
    ("Да, отложите.\n\nОт: ACME Shop <support@mail.shop.example>\nОтправлено: 23 ноября 2026 г. 14:03\n"
     "Кому: ivan@example.ru\nТема: Your chat\n\nShall I reserve it?", "Да, отложите."),
    ("Oui merci.\n\nDe : ACME Shop <support@mail.shop.example>\nEnvoyé : lundi 23 novembre 2026 14:03\n"
     "À : camille@example.fr\nObjet : Your chat\n\nShall I reserve it?", "Oui merci."),
    ("Sí, gracias.\n\nDe: ACME Shop <support@mail.shop.example>\nEnviado: lunes, 23 de noviembre de 2026 14:03\n"
     "Para: javier@example.es\nAsunto: Your chat\n\nShall I reserve it?", "Sí, gracias."),
    ("好的\n\n发件人: ACME Shop <support@mail.shop.example>\n发送时间: 2026年11月23日 14:03\n收件人: li@example.cn\n"
     "主题: Your chat\n\nShall I reserve it?", "好的"),
    ("Yes.\n\n-----Original Message-----\nFrom: ACME Shop\nShall I reserve it?", "Yes."),
    ("Danke!\n\nGesendet: Montag, 23. November 2026 um 14:03 Uhr\nVon: \"ACME Shop\" <support@mail.shop.example>\n"
     "An: heike@gmx.de\nBetreff: Your chat\n" + MARKER, "Danke!"),
    # quote headers of other clients and languages
    ("Yes.\n\n在 2026年11月23日 14:03，ACME Shop <support@mail.shop.example> 写道：\n" + SHOP_TEXT, "Yes."),
    ("はい。\n\n2026年11月23日(月) 14:03 ACME Shop <support@mail.shop.example>:\n" + SHOP_TEXT, "はい。"),
    ("Да.\n\n23.11.2026 14:03, ACME Shop пишет:\n" + SHOP_TEXT, "Да."),
    ("Ja.\n\nAm 23.11.26 um 14:03 schrieb ACME Shop:\n" + SHOP_TEXT, "Ja."),
    ("Sim.\n\nEm seg., 23 de nov. de 2026 às 14:03, ACME Shop <support@mail.shop.example>\nescreveu:\n\n"
     + SHOP_TEXT, "Sim."),
    ("Evet.\n\nACME Shop <support@mail.shop.example>, 23 Kas 2026 Pzt, 14:03 tarihinde şunu\nyazdı:\n" + SHOP_TEXT,
     "Evet."),
    # a language without a pattern: an address, a colon, then quoted lines
    ("Ναι.\n\nΣτις Δευ 23 Νοε 2026 στις 14:03, ο/η ACME Shop <support@mail.shop.example> έγραψε:\n" + SHOP_TEXT, "Ναι."),
    # Parley's marker without "> " and history in no known shape: cut at the marker
    ("Great, thanks!\n\n" + MARKER + "\n\nAnna (ACME Shop), 14:03:\nShall I reserve it?", "Great, thanks!"),
    # mobile footers alone are dropped; the same words inside a sentence are not
    ("Ok!\n\nSent from my iPhone", "Ok!"),
    ("Ok!\n\nОтправлено из Яндекс Почты для iOS", "Ok!"),
    ("Ok!\n\n发自我的iPhone", "Ok!"),
    ("The photo was sent from my iPhone, is it clear?", "The photo was sent from my iPhone, is it clear?"),
    ("Sent from my iPhone, the photo shows the scratch.", "Sent from my iPhone, the photo shows the scratch."),
    ("Отправлено из склада вчера, трек пришёл.\nСпасибо", "Отправлено из склада вчера, трек пришёл.\nСпасибо"),
    # a footer or signature ends at the next quote: iOS puts the footer on top, answers go below
    ("Sent from my iPhone\n\nOn 23 Nov 2026, at 14:03, ACME Shop <support@mail.shop.example> wrote:\n"
     "> Blue or red?\nRed\n> Size?\nL\n\n-- \nAnna", "Red\n\nL"),
    # the marker after other text on the line, as Yahoo's plain text part runs lines together
    ("ok\n\n  On Mon, 23 Nov 2026 at 14:03, ACME Shop<support@mail.shop.example> wrote:   " + MARKER
     + "\n\n   Anna (ACME Shop), 14:03:", "ok"),
    # a signature-only message is kept rather than lost
    ("-- \nAnna Petrova\nACME Ltd", "--\nAnna Petrova\nACME Ltd"),
    # nothing but quoted history: nothing to post
    ("On Mon, 23 Nov 2026 at 14:03, ACME Shop <support@mail.shop.example> wrote:\n" + SHOP_TEXT, ""),
    # a colleague quoted by the visitor, not a client header: kept
    ("My friend wrote:\nfree shipping over 50 EUR\nbut I was charged 4.90",
     "My friend wrote:\nfree shipping over 50 EUR\nbut I was charged 4.90"),
])
def test_strip_reply(text: str, reply: str) -> None:
    assert strip_reply(text) == reply
