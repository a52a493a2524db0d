"""Email continuity through the real handlers on moto: unseen answers are emailed (once,
debounced, threaded, unsubscribable) and replies from the mailbox come back into the dialog."""
from __future__ import annotations

import secrets
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import make_msgid

import boto3
import pytest

from tests.moto_chat import SHOP
from tests.service.test_chat import msg, of_type, operator, visitor
from tests.service.test_proactive import ENDPOINT, Clock

DOMAIN = "mail.shop.example"
DELAY_MS = 120_000


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def ses(chat):
    client = boto3.client("ses", region_name="us-east-1")
    client.verify_domain_identity(Domain=DOMAIN)
    return client


def sent_mail() -> list[tuple[str, EmailMessage]]:
    """Every raw email moto's SES accepted: (SES message id, the message as received)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    backend = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    return [(m.id, message_from_bytes(m.raw_data.encode(), policy=email_policy.default))
            for m in backend.sent_messages if hasattr(m, "raw_data")]


def run_mirror(at_ms: int):
    from chalicelib.mail import mirror

    return mirror.run_schedule(ENDPOINT, at_ms)


def text_of(mail: EmailMessage) -> str:
    return mail.get_body(("plain",)).get_content()


def html_of(mail: EmailMessage) -> str:
    return mail.get_body(("html",)).get_content()


def chat_with_email(chat, email="jane@example.com"):
    """A visitor who gave their email in the chat, and the operator console."""
    session, tab = visitor(chat)
    chat.send(tab, {"type": "resume", "after_seq": 0})
    frames = chat.send(tab, msg(f"my email is {email}", "cid-v0000001"))
    dialog_id = of_type(frames, "ack")[0]["dialog_id"]
    _, op = operator(chat)
    return session, tab, op, dialog_id


def answer(chat, op, dialog_id, text, cid, **extra):
    return chat.send(op, msg(text, cid, dialog_id=dialog_id, **extra))


# --- the mirror ------------------------------------------------------------------------------

def test_unseen_answers_go_out_as_one_email_after_the_delay(chat, ses, clock):
    session, tab, op, dialog_id = chat_with_email(chat)
    answer(chat, op, dialog_id, "Hi Jane! Checking your order.", "cid-o0000001")
    answer(chat, op, dialog_id, "internal: VIP customer", "cid-o0000002", note=True)
    clock.ms += 20_000
    answer(chat, op, dialog_id, "It ships <b>tomorrow</b> & arrives Friday.", "cid-o0000003")
    answer(chat, op, dialog_id, "Anything else?", "cid-o0000004")

    assert run_mirror(clock.ms + 60_000).sent == 0  # the delay runs from the last answer
    report = run_mirror(clock.ms + DELAY_MS)
    assert report.sent == 1 and len(sent_mail()) == 1
    _, mail = sent_mail()[0]
    assert mail["To"] == "jane@example.com"
    assert mail["From"].addresses[0].addr_spec == f"support@{DOMAIN}"
    sender = mail["From"].addresses[0].display_name
    assert "Ann" in sender and "Parley Demo Shop" in sender
    reply_to = mail["Reply-To"].addresses[0]
    assert reply_to.domain == DOMAIN and reply_to.username.startswith("reply+")
    text = text_of(mail)
    for line in ("Hi Jane! Checking your order.", "It ships <b>tomorrow</b> & arrives Friday.", "Anything else?"):
        assert line in text
    assert "VIP" not in text and "VIP" not in html_of(mail)  # notes never go out
    assert "&lt;b&gt;tomorrow&lt;/b&gt; &amp; arrives" in html_of(mail)  # operator text is text in HTML
    assert "<b>tomorrow" not in html_of(mail)
    assert f"{SHOP}/#parley-chat" in text  # back to the chat on the shop's page
    assert mail["List-Unsubscribe"].startswith("<https://api.example/api/mail/unsubscribe?t=")
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    assert run_mirror(clock.ms + 10 * DELAY_MS).sent == 0  # sent once
    emailed = [f for f in chat.frames(op) if f["type"] == "dialog"][-1]["dialog"]
    assert emailed["mailed_seqs"] == [2, 4, 5]  # the console marks these answers emailed (3 is the note)


def test_answers_read_in_the_widget_are_not_emailed(chat, ses, clock):
    session, tab, op, dialog_id = chat_with_email(chat)
    acks = of_type(answer(chat, op, dialog_id, "Here you go", "cid-o0000001"), "ack")
    chat.send(tab, {"type": "read", "seq": acks[0]["seq"]})
    assert run_mirror(clock.ms + DELAY_MS).sent == 0
    assert sent_mail() == []
    # a later answer the visitor does not see goes out alone
    answer(chat, op, dialog_id, "One more thing", "cid-o0000002")
    assert run_mirror(clock.ms + DELAY_MS).sent == 1
    text = text_of(sent_mail()[0][1])
    assert "One more thing" in text and "Here you go" not in text
    summary = of_type(chat.send(op, {"type": "subscribe"}), "dialogs")[0]["dialogs"][0]
    assert summary["mailed_seqs"] == [3]  # the answer read in the widget is not marked emailed


def test_read_marks_cannot_pass_the_dialog_nor_touch_another_visitors(chat, ses, clock):
    session, tab, op, dialog_id = chat_with_email(chat)
    answer(chat, op, dialog_id, "Answer", "cid-o0000001")
    chat.send(tab, {"type": "read", "seq": 999})  # past the last message: ignored
    _, other = visitor(chat)
    chat.send(other, {"type": "read", "seq": 2})  # a stranger has no dialog: nothing to mark
    errors = of_type(chat.send(tab, {"type": "read", "seq": "2"}), "error")
    assert errors and errors[0]["code"] == "invalid"
    assert run_mirror(clock.ms + DELAY_MS).sent == 1


def test_no_email_no_mirror(chat, ses, clock):
    session, tab = visitor(chat)
    dialog_id = of_type(chat.send(tab, msg("hello", "cid-v0000001")), "ack")[0]["dialog_id"]
    _, op = operator(chat)
    answer(chat, op, dialog_id, "Hi!", "cid-o0000001")
    assert run_mirror(clock.ms + DELAY_MS).due == 0  # never even entered the schedule's index
    assert sent_mail() == []


def test_later_emails_thread_under_the_first(chat, ses, clock):
    session, tab, op, dialog_id = chat_with_email(chat)
    answer(chat, op, dialog_id, "First answer", "cid-o0000001")
    run_mirror(clock.ms + DELAY_MS)
    clock.ms += 10 * 60_000
    answer(chat, op, dialog_id, "Second answer", "cid-o0000002")
    run_mirror(clock.ms + DELAY_MS)
    (first_id, first), (_, second) = sent_mail()
    assert second["Subject"] == first["Subject"]
    ses_ref = f"<{first_id}@email.amazonses.com>"  # SES's Message-ID replaced ours
    assert second["In-Reply-To"] == ses_ref and ses_ref in second["References"]
    assert second["Reply-To"] == first["Reply-To"]


def test_two_runs_racing_send_one_email(chat, ses, clock):
    from chalicelib.mail import mirror
    from chalicelib.realtime.delivery import Outbox
    from chalicelib.storage import dialog_store

    session, tab, op, dialog_id = chat_with_email(chat)
    answer(chat, op, dialog_id, "Answer", "cid-o0000001")
    stale = dialog_store.get_dialog(dialog_id)  # both runs read the due dialog before either sent
    report = mirror.MirrorReport()
    mirror._mirror(stale, clock.ms + DELAY_MS, Outbox(ENDPOINT), report)
    mirror._mirror(stale, clock.ms + DELAY_MS, Outbox(ENDPOINT), report)
    assert report.sent == 1 and len(sent_mail()) == 1


def test_a_refused_send_is_retried_not_lost(chat, clock):
    session, tab, op, dialog_id = chat_with_email(chat)
    answer(chat, op, dialog_id, "Answer", "cid-o0000001")
    assert run_mirror(clock.ms + DELAY_MS).failed == 1  # SES refuses: the domain is not verified yet
    boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain=DOMAIN)
    assert run_mirror(clock.ms + DELAY_MS + 60_000).sent == 0  # retried later, not at once
    assert run_mirror(clock.ms + DELAY_MS + 6 * 60_000).sent == 1
    assert "Answer" in text_of(sent_mail()[0][1])


def test_the_email_speaks_the_visitors_language(chat, ses, clock):
    page = {"url": "https://shop.example/", "title": "Shop"}
    session = chat.visitor_token(page=page, headers={"accept-language": "ru-RU,ru;q=0.9"})["body"]
    _, tab = chat.connect(session["token"], SHOP)
    dialog_id = of_type(chat.send(tab, msg("пишите на ivan@example.ru", "cid-v0000001")), "ack")[0]["dialog_id"]
    _, op = operator(chat)
    answer(chat, op, dialog_id, "Здравствуйте!", "cid-o0000001")
    run_mirror(clock.ms + DELAY_MS)
    _, mail = sent_mail()[0]
    assert mail["To"] == "ivan@example.ru"
    assert "Продолжить в чате" in text_of(mail) and mail["Subject"].startswith("Ваш разговор")


# --- unsubscribing ------------------------------------------------------------------------------

def _get(chat, path: str) -> dict:
    return _call(chat, "GET", path, None)


def _call(chat, method: str, path: str, body: str | None) -> dict:
    route, _, query = path.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&")) if query else None
    event = {"resource": route, "path": route, "httpMethod": method,
             "headers": {"host": "api.example"} | ({"content-type": "application/x-www-form-urlencoded"} if body else {}),
             "multiValueHeaders": {}, "queryStringParameters": params,
             "multiValueQueryStringParameters": {k: [v] for k, v in params.items()} if params else None,
             "pathParameters": None, "stageVariables": None, "isBase64Encoded": False, "body": body,
             "requestContext": {"resourcePath": route, "httpMethod": method, "stage": "test",
                                "identity": {"sourceIp": "127.0.0.1"}}}
    response = chat.app.app(event, None)
    return {"status": response["statusCode"], "body": response["body"]}


def test_unsubscribe_link_asks_then_stops_the_emails(chat, ses, clock):
    from urllib.parse import unquote

    session, tab, op, dialog_id = chat_with_email(chat)
    answer(chat, op, dialog_id, "First", "cid-o0000001")
    run_mirror(clock.ms + DELAY_MS)
    link = sent_mail()[0][1]["List-Unsubscribe"].strip("<>")
    path = link.removeprefix("https://api.example")
    page = _get(chat, path)
    assert page["status"] == 200 and 'data-testid="unsubscribe"' in page["body"]  # opening it asks
    answer(chat, op, dialog_id, "Second", "cid-o0000002")
    assert run_mirror(clock.ms + DELAY_MS).sent == 1  # a link scanner opening it changed nothing

    token = unquote(path.split("t=", 1)[1])
    done = _call(chat, "POST", "/api/mail/unsubscribe", f"t={token}")  # the page's button
    assert done["status"] == 200 and "unsubscribed" in done["body"]
    answer(chat, op, dialog_id, "Third", "cid-o0000003")
    assert run_mirror(clock.ms + DELAY_MS).sent == 0
    card = of_type(chat.send(op, {"type": "visitor", "visitor_id": session["visitor_id"]}), "visitor")[0]
    assert card["visitor"]["mail_opt_out"] is True


def test_one_click_unsubscribe_and_forged_tokens(chat, ses, clock):
    session, tab, op, dialog_id = chat_with_email(chat)
    visitor_id = session["visitor_id"]
    forged = f"{visitor_id}.{'a' * 16}"
    assert _call(chat, "POST", f"/api/mail/unsubscribe?t={forged}", "List-Unsubscribe=One-Click")["status"] == 404
    assert _get(chat, "/api/mail/unsubscribe?t=%3Cscript%3E")["status"] == 404
    answer(chat, op, dialog_id, "Still emailed", "cid-o0000001")
    assert run_mirror(clock.ms + DELAY_MS).sent == 1
    link = sent_mail()[0][1]["List-Unsubscribe"].strip("<>").removeprefix("https://api.example")
    assert _call(chat, "POST", link, "List-Unsubscribe=One-Click")["status"] == 200  # RFC 8058
    answer(chat, op, dialog_id, "Not emailed", "cid-o0000002")
    assert run_mirror(clock.ms + DELAY_MS).sent == 0


# --- inbound replies ------------------------------------------------------------------------------

def deliver(raw: bytes, recipients: list[str], message_id: str | None = None, **verdicts: str) -> dict:
    """What SES does with a received mail: the raw MIME into the bucket, then the function."""
    from chalicelib.mail import inbound
    from chalicelib.shared.config import settings
    from infra.local.mail_inlet import ses_event

    message_id = message_id or secrets.token_hex(16)
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=settings.data_bucket, Key=f"inbound/{message_id}", Body=raw)
    event = ses_event(message_id, recipients, "jane@example.com", raw,
                      {f"{name}Verdict": status for name, status in verdicts.items()})
    return inbound.handle(event, ENDPOINT)


def reply_to(sent: tuple[str, EmailMessage], text: str, sender: str = "jane@example.com",
             to: str | None = None, attachments: tuple[tuple[str, bytes, str], ...] = ()) -> bytes:
    """A reply as a mail client writes one: quoting the email, threaded under it."""
    ses_id, original = sent
    reply = EmailMessage()
    reply["From"] = f"Jane Doe <{sender}>"
    reply["To"] = to or str(original["Reply-To"])
    reply["Subject"] = f"Re: {original['Subject']}"
    reply["Message-ID"] = make_msgid(domain="example.com")
    reply["In-Reply-To"] = f"<{ses_id}@email.amazonses.com>"
    reply["References"] = f"<{ses_id}@email.amazonses.com>"
    quoted = "\n".join(f"> {line}" for line in text_of(original).splitlines())
    reply.set_content(f"{text}\n\nOn Mon, 23 Nov 2026 at 10:00, Ann <support@{DOMAIN}> wrote:\n{quoted}\n")
    for name, data, content_type in attachments:
        maintype, subtype = content_type.split("/")
        reply.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return reply.as_bytes()


def emailed_dialog(chat, clock):
    """A dialog whose answer was emailed; the visitor's tab and the operator's console."""
    session, tab, op, dialog_id = chat_with_email(chat)
    answer(chat, op, dialog_id, "Which size do you need?", "cid-o0000001")
    run_mirror(clock.ms + DELAY_MS)
    chat.frames(op), chat.frames(tab)
    return session, tab, op, dialog_id, sent_mail()[-1]


def messages_in(frames: list[dict]) -> list[dict]:
    return [f["message"] for f in of_type(frames, "message")]


def test_a_reply_lands_in_the_dialog_once_without_the_quoted_history(chat, ses, clock):
    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    raw = reply_to(sent, "Size M, please.\n\nThanks!")
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)
    assert deliver(raw, [recipient], "ses-message-0001")["posted"] == 1
    to_operators = messages_in(chat.frames(op))
    assert len(to_operators) == 1
    message = to_operators[0]
    assert message["dialog_id"] == dialog_id and message["author"] == {"kind": "visitor"}
    assert message["text"] == "Size M, please.\n\nThanks!" and message["via"] == "email"
    assert message["email"]["from"] == "jane@example.com"
    assert "> Which size do you need?" in message["email"]["original"]  # the full email, for operators
    to_visitor = messages_in(chat.frames(tab))
    assert [m["text"] for m in to_visitor] == ["Size M, please.\n\nThanks!"]
    assert "email" not in to_visitor[0]  # the original email is operators' only
    history = of_type(chat.send(tab, {"type": "resume", "after_seq": 0}), "history")[0]
    assert all("email" not in m and "original" not in m for m in history["messages"])

    assert deliver(raw, [recipient], "ses-message-0001")["duplicate"] == 1  # SES delivers it again
    assert messages_in(chat.frames(op)) == []
    history = of_type(chat.send(op, {"type": "history", "dialog_id": dialog_id, "after_seq": 0}), "history")[0]
    assert [m["text"] for m in history["messages"]].count("Size M, please.\n\nThanks!") == 1


def test_an_emailed_reply_starts_the_answer_time_clock(chat, ses, clock):
    """The customer who wrote waits for an answer whichever way they wrote (docs/routing.md):
    the answer-time schedule sees the dialog waiting, and an operator's answer stops the clock."""
    from chalicelib.storage import dialog_store

    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    assert dialog_store.get_dialog(dialog_id).waiting_since is None  # the operator answered last
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)
    deliver(reply_to(sent, "Still there?"), [recipient], "ses-message-0042")
    waiting = dialog_store.get_dialog(dialog_id)
    assert waiting.waiting_since is not None and waiting.wait_shard is not None
    chat.send(op, msg("Yes, sorry!", "cid-answer-0042", dialog_id=dialog_id))
    assert dialog_store.get_dialog(dialog_id).waiting_since is None


def test_a_crash_after_posting_does_not_post_twice(chat, ses, clock, monkeypatch):
    """SES retries a function that failed after the message was stored: still one message."""
    from chalicelib.mail import inbound

    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    raw = reply_to(sent, "Size L")
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)

    def crash(*_args):
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(inbound, "_remember", crash)
    with pytest.raises(RuntimeError):
        deliver(raw, [recipient], "ses-message-0002")
    monkeypatch.undo()
    assert deliver(raw, [recipient], "ses-message-0002")["duplicate"] == 1
    history = of_type(chat.send(op, {"type": "history", "dialog_id": dialog_id, "after_seq": 0}), "history")[0]
    assert [m["text"] for m in history["messages"]].count("Size L") == 1


@pytest.mark.parametrize("tamper", ["signature", "other_site", "unknown_dialog"])
def test_forged_reply_addresses_post_nothing_and_answer_nothing(chat, ses, clock, tamper):
    from chalicelib.mail import tokens
    from chalicelib.shared.config import settings

    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    real = str(sent[1]["Reply-To"].addresses[0].username)
    forged = {
        "signature": real[:-4] + ("aaaa" if not real.endswith("aaaa") else "bbbb"),
        "other_site": tokens.reply_local_part(tokens.site_mail_secret(settings.secret, "other"), dialog_id),
        "unknown_dialog": tokens.reply_local_part(tokens.site_mail_secret(settings.secret, "demo"), "d_nosuchdialog00"),
    }[tamper]
    outgoing = len(sent_mail())
    result = deliver(reply_to(sent, "let me in", to=f"{forged}@{DOMAIN}"), [f"{forged}@{DOMAIN}"])
    assert result["rejected"] == 1 and result["posted"] == 0
    assert messages_in(chat.frames(op)) == [] and len(sent_mail()) == outgoing  # no bounce reveals a dialog


@pytest.mark.parametrize("verdicts", [{"spam": "FAIL"}, {"virus": "FAIL"}, {"spf": "FAIL", "dkim": "FAIL"}])
def test_ses_verdicts_keep_bad_mail_out_but_in_the_bucket(chat, ses, clock, verdicts):
    from chalicelib.shared.config import settings

    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)
    result = deliver(reply_to(sent, "buy pills"), [recipient], "ses-message-0003", **verdicts)
    assert result["refused"] == 1 and messages_in(chat.frames(op)) == []
    kept = boto3.client("s3", region_name="us-east-1").get_object(Bucket=settings.data_bucket,
                                                                  Key="inbound/ses-message-0003")
    assert b"buy pills" in kept["Body"].read()  # kept for review


def test_spf_failing_alone_still_posts(chat, ses, clock):
    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)
    assert deliver(reply_to(sent, "forwarded via my alias"), [recipient], spf="FAIL")["posted"] == 1


def test_attachments_become_chat_files_and_big_ones_are_named(chat, ses, clock):
    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)
    pdf = b"%PDF-1.4\n" + b"0" * 100_000
    big = b"\x00" * (3 * 1024 * 1024)
    raw = reply_to(sent, "Invoice and photos attached", attachments=(
        ("invoice.pdf", pdf, "application/pdf"), ("photos.zip", big, "application/zip")))
    assert deliver(raw, [recipient])["posted"] == 1
    posted = messages_in(chat.frames(op))
    assert [m["text"] for m in posted] == ["Invoice and photos attached", ""]
    assert posted[0]["email"]["left_out"] == [{"name": "photos.zip", "size": len(big), "reason": "larger than 2 MB"}]
    file = posted[1]["file"]
    assert file["name"] == "invoice.pdf" and file["size"] == len(pdf) and file["content_type"] == "application/pdf"
    from chalicelib.shared.config import settings
    from chalicelib.storage import message_store
    stored = message_store.get_message(dialog_id, posted[1]["client_id"])
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=settings.data_bucket, Key=stored.file.key)
    assert body["Body"].read() == pdf


def test_a_mail_with_no_text_part_posts_its_attachment(chat, ses, clock):
    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)
    only = EmailMessage()
    only["From"], only["To"], only["Subject"] = "jane@example.com", recipient, "scan"
    only.add_attachment(b"\x89PNG\r\n\x1a\n" + b"1" * 50_000, maintype="image", subtype="png", filename="scan.png")
    assert deliver(only.as_bytes(), [recipient])["posted"] == 1
    posted = messages_in(chat.frames(op))
    assert len(posted) == 1 and posted[0]["file"]["name"] == "scan.png" and posted[0]["file"]["image"]


def test_automatic_replies_are_not_posted(chat, ses, clock):
    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)
    vacation = EmailMessage()
    vacation["From"], vacation["To"], vacation["Subject"] = "jane@example.com", recipient, "Out of office"
    vacation["Auto-Submitted"] = "auto-replied"
    vacation.set_content("I am away until Monday.")
    assert deliver(vacation.as_bytes(), [recipient])["dropped"] == 1
    assert messages_in(chat.frames(op)) == []


def test_threading_headers_find_the_dialog_only_for_its_visitor(chat, ses, clock):
    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    support = f"support@{DOMAIN}"
    # the visitor's client replied to the From address: In-Reply-To still finds the dialog
    assert deliver(reply_to(sent, "via the thread", to=support), [support])["posted"] == 1
    assert messages_in(chat.frames(op))[0]["dialog_id"] == dialog_id
    # someone else quoting the same Message-ID starts their own conversation, not Jane's
    assert deliver(reply_to(sent, "I am Mallory", sender="mallory@evil.example", to=support), [support])["posted"] == 1
    mallory = messages_in(chat.frames(op))[0]
    assert mallory["dialog_id"] != dialog_id
    history = of_type(chat.send(op, {"type": "history", "dialog_id": dialog_id, "after_seq": 0}), "history")[0]
    assert "I am Mallory" not in [m["text"] for m in history["messages"]]


def test_mail_to_the_support_address_starts_an_email_dialog(chat, ses, clock):
    _, op = operator(chat)
    first = EmailMessage()
    first["From"], first["To"], first["Subject"] = "Bob Stone <Bob@Example.org>", f"support@{DOMAIN}", "Order 1042"
    first["Message-ID"] = make_msgid(domain="example.org")
    first.set_content("Where is my order 1042?\n\n-- \nBob Stone\nStone & Co")
    assert deliver(first.as_bytes(), [f"support@{DOMAIN}"])["posted"] == 1
    frames = chat.frames(op)
    message = messages_in(frames)[0]
    summary = of_type(frames, "message")[0]["dialog"]
    assert message["text"] == "Where is my order 1042?"  # the signature stripped
    assert summary["channel"] == "email" and summary["visitor_name"] == "Bob Stone"
    card = of_type(chat.send(op, {"type": "visitor", "visitor_id": summary["visitor_id"]}), "visitor")[0]
    assert card["visitor"]["email"] == "bob@example.org"

    second = EmailMessage()
    second["From"], second["To"], second["Subject"] = "bob@example.org", f"support@{DOMAIN}", "also"
    second.set_content("And can I change the address?")
    deliver(second.as_bytes(), [f"support@{DOMAIN}"])
    assert messages_in(chat.frames(op))[0]["dialog_id"] == message["dialog_id"]  # the same open conversation

    # the operator's answer goes to Bob by email, threaded under his first mail
    answer(chat, op, message["dialog_id"], "It left the warehouse today.", "cid-o0000009")
    run_mirror(clock.ms + DELAY_MS)
    _, mail = sent_mail()[-1]
    assert mail["To"] == "bob@example.org" and mail["Subject"] == "Re: Order 1042"
    assert mail["In-Reply-To"] == first["Message-ID"]


def test_a_reply_to_a_closed_dialog_continues_in_a_new_one(chat, ses, clock):
    session, tab, op, dialog_id, sent = emailed_dialog(chat, clock)
    chat.send(op, {"type": "close", "dialog_id": dialog_id})
    recipient = str(sent[1]["Reply-To"].addresses[0].addr_spec)
    assert deliver(reply_to(sent, "One more question"), [recipient])["posted"] == 1
    message = messages_in(chat.frames(op))[0]
    assert message["dialog_id"] != dialog_id and message["text"] == "One more question"


def test_unknown_addresses_and_garbage_are_rejected_not_crashed_on(chat, ses, clock):
    result = deliver(b"\x00\xff garbage without headers", [f"nobody@{DOMAIN}"])
    assert result["rejected"] == 1
    stranger = EmailMessage()
    stranger["From"], stranger["To"], stranger["Subject"] = "x@example.com", f"sales@{DOMAIN}", "hi"
    stranger.set_content("hello")
    assert deliver(stranger.as_bytes(), [f"sales@{DOMAIN}"])["rejected"] == 1


def test_a_mail_missing_from_the_bucket_is_reported():
    from moto import mock_aws

    from chalicelib.mail import inbound
    from infra.local.mail_inlet import ses_event

    with mock_aws():
        from chalicelib import admin

        admin.create_tables()
        assert inbound.handle(ses_event("nosuchmail", [f"support@{DOMAIN}"], "a@b.c", b"Subject: x\r\n\r\n"),
                              ENDPOINT)["missing"] == 1
