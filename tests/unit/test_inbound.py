"""SES's verdicts decide which inbound mail may become a chat message (the whole path, with
the raw mail in the bucket, is in tests/service/test_mail.py)."""
from __future__ import annotations

import pytest

from chalicelib.mail import inbound


def ses_event(message_id="m-1", spam="PASS", virus="PASS", spf="PASS", dkim="PASS") -> dict:
    receipt = {f"{name}Verdict": {"status": status}
               for name, status in (("spam", spam), ("virus", virus), ("spf", spf), ("dkim", dkim))}
    receipt["recipients"] = ["Reply+Abc@Mail.Shop.Example"]
    return {"Records": [{"eventSource": "aws:ses", "ses": {"mail": {"messageId": message_id}, "receipt": receipt}}]}


@pytest.mark.parametrize("verdicts, refused", [
    ({}, False),
    ({"spam": "FAIL"}, True),
    ({"virus": "FAIL"}, True),
    ({"spf": "FAIL"}, False),          # DKIM still vouches for the sender
    ({"spf": "FAIL", "dkim": "FAIL"}, True),
    ({"spf": "GRAY", "dkim": "GRAY"}, False),
])
def test_verdicts_decide(verdicts, refused):
    assert (inbound.receipts(ses_event(**verdicts))[0].refusal() is not None) == refused


def test_refused_mail_is_counted_before_any_read():
    import app

    counts = app.inbound_mail(ses_event(spam="FAIL"), None)
    assert counts["refused"] == 1 and counts["posted"] == 0


def test_receipt_points_at_the_raw_mail_the_s3_action_stored():
    receipt = inbound.receipts(ses_event("abc123"))[0]
    assert receipt.object_key == "inbound/abc123"
    assert receipt.recipients == ("reply+abc@mail.shop.example",)


@pytest.mark.parametrize("event", [{}, {"Records": None}, {"Records": ["x"]}, {"Records": [{"ses": {"mail": {}}}]},
                                   {"Records": [{"ses": {"mail": {"messageId": 5}, "receipt": {}}}]},
                                   {"Records": [{"ses": {"mail": {"messageId": "../../etc"}, "receipt": {}}}]}])
def test_malformed_events_are_skipped_not_crashed_on(event):
    assert sum(inbound.handle(event).values()) == 0
