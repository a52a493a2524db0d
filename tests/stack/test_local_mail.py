"""Email on the local stack: the SMTP inlet standing in for SES receiving (in process, on moto),
and the visitor's mailbox (the whole stack as a subprocess, over real SMTP and HTTP, once in
Chromium)."""
from __future__ import annotations

import asyncio
import json
import logging
import re
import smtplib
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import boto3
import pytest

from infra.local.mail_inlet import MailInlet, ses_event
from infra.local.servers import bind_socket, bound_port

DOMAIN = "mail.demo.shop"


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def raw_mail(sender: str = "vera@example.com", to: str = f"reply+tok@{DOMAIN}", subject: str = "Hello",
             body: str = "Hi there") -> bytes:
    return (f"From: Vera <{sender}>\r\nTo: {to}\r\nCc: Other <other@example.com>\r\nSubject: {subject}\r\n"
            f"Date: Mon, 5 Aug 2026 21:29:57 +0000\r\nMessage-ID: <m1@example.com>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()


# --- the inlet, in process -------------------------------------------------------------

class Recorder:
    """The injected Lambda handler: records (event, context); raises on the calls told to."""

    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[dict[str, Any], Any]] = []
        self._fail_first = fail_first
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, int]:
        with self._lock:
            self.calls.append((event, context))
            if len(self.calls) <= self._fail_first:
                raise RuntimeError("handler crashed")
        return {"accepted": 1}


class RunningInlet:
    def __init__(self, inlet: MailInlet) -> None:
        self.inlet = inlet
        self._sock = bind_socket("127.0.0.1", 0)
        self.port = bound_port(self._sock)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> RunningInlet:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.inlet.start(self._sock), self._loop).result(10)
        return self

    def __exit__(self, *exc: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.inlet.stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=10)


@pytest.fixture
def moto_bucket() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        from chalicelib.shared.config import settings

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=settings.data_bucket)
        yield s3


def _inbound(s3: Any) -> dict[str, bytes]:
    from chalicelib.shared.config import settings

    listed = s3.list_objects_v2(Bucket=settings.data_bucket, Prefix="inbound/").get("Contents", [])
    return {item["Key"]: s3.get_object(Bucket=settings.data_bucket, Key=item["Key"])["Body"].read() for item in listed}


def test_inlet_stores_the_raw_mail_then_invokes_the_handler_with_ses_event(moto_bucket: Any) -> None:
    handler = Recorder()
    raw = raw_mail()
    recipients = [f"reply+tok@{DOMAIN}", f"Support@{DOMAIN.upper()}"]  # domains match case-insensitively
    with RunningInlet(MailInlet(DOMAIN, handler)) as running, running.client() as client:
        assert client.sendmail("bounce@example.com", recipients, raw) == {}
        wait_for(lambda: handler.calls, what="the handler")
    assert len(handler.calls) == 1
    event, context = handler.calls[0]
    record = event["Records"][0]
    mail, receipt = record["ses"]["mail"], record["ses"]["receipt"]
    assert record["eventSource"] == "aws:ses" and record["eventVersion"] == "1.0"
    assert re.fullmatch(r"[a-z0-9]{32}", mail["messageId"])
    assert _inbound(moto_bucket) == {f"inbound/{mail['messageId']}": raw}  # the exact bytes
    assert receipt["recipients"] == recipients and mail["source"] == "bounce@example.com"
    assert mail["destination"] == [f"reply+tok@{DOMAIN}", "other@example.com"]
    assert receipt["action"] == {"type": "Lambda", "invocationType": "Event",
                                 "functionArn": receipt["action"]["functionArn"]}
    assert all(receipt[name] == {"status": "PASS"} for name in
               ("spamVerdict", "virusVerdict", "spfVerdict", "dkimVerdict", "dmarcVerdict"))
    assert mail["commonHeaders"]["subject"] == "Hello" and mail["commonHeaders"]["messageId"] == "<m1@example.com>"
    assert context.function_name == "parley-local-inbound_mail"


def test_ses_event_is_shaped_as_ses_sends_it() -> None:
    raw = raw_mail(subject="=?utf-8?q?Gr=C3=BC=C3=9Fe?=")
    event = ses_event("abc123", [f"reply+t@{DOMAIN}"], "vera@example.com", raw,
                      verdicts={"spamVerdict": "fail", "dmarcVerdict": "FAIL"})
    record = event["Records"][0]["ses"]
    headers = record["mail"]["headers"]
    assert headers[0] == {"name": "Return-Path", "value": "<vera@example.com>"}
    assert {"name": "Subject", "value": "=?utf-8?q?Gr=C3=BC=C3=9Fe?="} in headers  # headers as received
    common = record["mail"]["commonHeaders"]
    assert common["subject"] == "Grüße" and common["from"] == ["Vera <vera@example.com>"]
    assert common["returnPath"] == "vera@example.com" and common["date"].startswith("Mon, 5 Aug")
    assert record["receipt"]["spamVerdict"] == {"status": "FAIL"}
    assert record["receipt"]["virusVerdict"] == {"status": "PASS"}
    assert record["receipt"]["dmarcPolicy"] == "none"
    assert record["mail"]["headersTruncated"] is False and record["mail"]["timestamp"].endswith("Z")
    json.dumps(event)  # what Lambda gets is JSON


def test_mail_for_another_domain_is_refused_and_not_stored(moto_bucket: Any) -> None:
    handler = Recorder()
    with RunningInlet(MailInlet(DOMAIN, handler)) as running, running.client() as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            client.sendmail("vera@example.com", ["someone@example.org"], raw_mail(to="someone@example.org"))
        assert refused.value.recipients["someone@example.org"][0] == 550
        # one good recipient among bad ones: only it gets the mail
        assert client.sendmail("vera@example.com", ["x@evil.example", f"reply+t@{DOMAIN}"], raw_mail()) == {
            "x@evil.example": (550, refused.value.recipients["someone@example.org"][1])}
        wait_for(lambda: handler.calls, what="the handler")
    assert handler.calls[0][0]["Records"][0]["ses"]["receipt"]["recipients"] == [f"reply+t@{DOMAIN}"]
    assert len(_inbound(moto_bucket)) == 1


def test_oversize_mail_is_refused(moto_bucket: Any) -> None:
    handler = Recorder()
    with RunningInlet(MailInlet(DOMAIN, handler)) as running, running.client() as client:
        big = raw_mail() + (b"z" * 998 + b"\r\n") * 10_600  # > 10 MB
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # smtplib declares SIZE: refused up front
            client.sendmail("vera@example.com", [f"reply+t@{DOMAIN}"], big)
        assert refused.value.smtp_code == 552
    with RunningInlet(MailInlet(DOMAIN, handler, max_bytes=2000)) as running, running.client() as client:
        client.ehlo()
        client.mail("vera@example.com")  # no SIZE: refused once the data is in
        client.rcpt(f"reply+t@{DOMAIN}")
        code, _ = client.data(raw_mail(body="x" * 500 + ("\r\n" + "x" * 500) * 4))
        assert code == 552
    assert _inbound(moto_bucket) == {} and handler.calls == []


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_a_failing_handler_is_logged_and_the_inlet_keeps_serving(moto_bucket: Any) -> None:
    handler, collect = Recorder(fail_first=1), _Collect()
    logger = logging.getLogger("parley.local.mail")
    logger.addHandler(collect)
    try:
        with RunningInlet(MailInlet(DOMAIN, handler)) as running:
            for subject in ("first", "second"):
                with running.client() as client:
                    assert client.sendmail("vera@example.com", [f"reply+t@{DOMAIN}"], raw_mail(subject=subject)) == {}
                wait_for(lambda: len(handler.calls) >= (1 if subject == "first" else 2), what="the handler")
    finally:
        logger.removeHandler(collect)
    assert len(handler.calls) == 2 and len(_inbound(moto_bucket)) == 2
    assert any("inbound_mail failed" in record.getMessage() and record.exc_info for record in collect.records)


# --- the mailbox, on the whole stack -----------------------------------------------------

@pytest.fixture(scope="module")
def mail_stack() -> Iterator[Any]:
    from infra.local.stack import LocalStack

    with LocalStack(args=("--smtp-port", "0", "--mailbox-port", "0")) as running:
        yield running


def _client(stack: Any, service: str) -> Any:
    return boto3.client(service, endpoint_url=stack.moto_url, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _send_as_parley(stack: Any, subject: str, text: str, html: str | None = None, token: str = "tok") -> str:
    message = EmailMessage()
    message["From"] = f"Demo Shop <support@{DOMAIN}>"
    message["To"] = "Vera <vera@example.com>"
    message["Reply-To"] = f"reply+{token}@{DOMAIN}"
    message["Subject"] = subject
    message["Message-ID"] = "<ignored@parley.local>"  # SES replaces it
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    sent = _client(stack, "sesv2").send_email(
        FromEmailAddress=f"support@{DOMAIN}", Destination={"ToAddresses": ["vera@example.com"]},
        Content={"Raw": {"Data": message.as_bytes()}})
    return str(sent["MessageId"])


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _mailbox_message(stack: Any, ses_id: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        messages = _get_json(stack.info["mailbox_url"] + "messages")["messages"]
        return next((m for m in messages if m["id"] == ses_id), None)

    return wait_for(found, what="the mail in the mailbox")


def _inbound_where(stack: Any, matches: Callable[[EmailMessage], bool]) -> EmailMessage:
    s3, bucket = _client(stack, "s3"), stack.info["data_bucket"]

    def found() -> EmailMessage | None:
        for item in s3.list_objects_v2(Bucket=bucket, Prefix="inbound/").get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            message = BytesParser(policy=policy.default).parsebytes(body)
            if matches(message):
                return message  # type: ignore[return-value]
        return None

    return wait_for(found, what="the reply in the data bucket")


def test_mailbox_shows_sent_mail_as_delivered_and_replies_over_smtp(mail_stack: Any) -> None:
    ses_id = _send_as_parley(mail_stack, "Your chat with Demo Shop", "Ann: How can I help?\n\nThanks", token="abc")
    shown = _mailbox_message(mail_stack, ses_id)
    ses_message_id = f"<{ses_id}@email.amazonses.com>"
    assert shown["message_id"] == ses_message_id
    assert {"name": "Message-ID", "value": ses_message_id} in shown["headers"]
    assert shown["reply_to"] == f"reply+abc@{DOMAIN}" and shown["to"] == "Vera <vera@example.com>"
    assert shown["text"].startswith("Ann: How can I help?") and shown["raw_size"] > 0

    form = urllib.parse.urlencode({"id": ses_id, "body": "Yes, the blue one please."}).encode()
    request = urllib.request.Request(mail_stack.info["mailbox_url"] + "reply", data=form,
                                     headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=15) as response:
        result = json.loads(response.read())
    assert result["sent"] is True and result["in_reply_to"] == ses_message_id

    reply = _inbound_where(mail_stack, lambda m: m["In-Reply-To"] == ses_message_id)
    assert reply["References"] == ses_message_id
    assert reply["To"] == f"reply+abc@{DOMAIN}" and reply["From"] == "Vera <vera@example.com>"
    assert reply["Subject"] == "Re: Your chat with Demo Shop"
    text = reply.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Yes, the blue one please.\n")
    assert "wrote:\n> Ann: How can I help?\n>\n> Thanks" in text


def test_mailbox_page_lists_replies_and_never_runs_mail_content(mail_stack: Any, browser: Any) -> None:
    subject = "Re <script>window.pwned = 1</script> order"
    html = '<p>Hi <b>Vera</b></p><script>parent.pwned = 2</script><img src=x onerror="parent.pwned = 3">'
    ses_id = _send_as_parley(mail_stack, subject, "<script>window.pwned = 4</script> see you", html, token="web")
    page = browser.new_page()
    try:
        page.goto(mail_stack.info["mailbox_url"])
        item = page.locator(f'[data-testid="mail-item"][data-mail-id="{ses_id}"]')
        assert item.get_by_test_id("mail-subject").inner_text() == subject
        assert item.get_by_test_id("mail-text").inner_text().startswith("<script>window.pwned = 4</script>")
        assert item.get_by_test_id("mail-html").get_attribute("sandbox") == ""
        item.get_by_test_id("mail-reply").click()
        item.get_by_test_id("reply-body").fill("Sent from the browser")
        item.get_by_test_id("reply-file").set_input_files(
            {"name": "note.txt", "mimeType": "text/plain", "buffer": b"attached words"})
        item.get_by_test_id("reply-send").click()
        page.get_by_test_id("sent-confirmation").wait_for()
        assert f"reply+web@{DOMAIN}" in page.get_by_test_id("sent-confirmation").inner_text()
        assert page.evaluate("window.pwned") is None
    finally:
        page.close()
    reply = _inbound_where(mail_stack, lambda m: m["In-Reply-To"] == f"<{ses_id}@email.amazonses.com>")
    attachments = list(reply.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["note.txt"]
    assert attachments[0].get_payload(decode=True) == b"attached words"
    assert reply.get_body(preferencelist=("plain",)).get_content().startswith("Sent from the browser")


def _post(url: str, fields: dict[str, str], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_mailbox_writes_new_email_to_support_and_refuses_other_origins(mail_stack: Any) -> None:
    url = mail_stack.info["mailbox_url"] + "send"
    fields = {"from": "Nina <nina@example.net>", "subject": "Do you ship to Oslo?", "body": "Asking first."}
    status, result = _post(url, fields, {"Accept": "application/json"})
    assert status == 200 and result["sent"] is True and result["to"] == f"support@{DOMAIN}"
    mail = _inbound_where(mail_stack, lambda m: m["Subject"] == "Do you ship to Oslo?")
    assert mail["From"] == "Nina <nina@example.net>" and mail["In-Reply-To"] is None

    status, result = _post(url, fields, {"Accept": "application/json", "Origin": "http://evil.example"})
    assert status == 403 and result["sent"] is False
