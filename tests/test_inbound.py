"""SES's verdicts decide which inbound mail may become a chat message."""
from __future__ import annotations

import pytest

from chalicelib.mail import inbound


def ses_event(message_id="m-1", spam="PASS", virus="PASS", spf="PASS", dkim="PASS") -> dict:
    receipt = {f"{name}Verdict": {"status": status}
               for name, status in (("spam", spam), ("virus", virus), ("spf", spf), ("dkim", dkim))}
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
    import app

    assert app.inbound_mail(ses_event(**verdicts), None) == {"accepted": int(not refused), "refused": int(refused)}


def test_receipt_points_at_the_raw_mail_the_s3_action_stored():
    assert inbound.receipts(ses_event("abc123"))[0].object_key == "inbound/abc123"


@pytest.mark.parametrize("event", [{}, {"Records": None}, {"Records": ["x"]}, {"Records": [{"ses": {"mail": {}}}]},
                                   {"Records": [{"ses": {"mail": {"messageId": 5}, "receipt": {}}}]}])
def test_malformed_events_are_skipped_not_crashed_on(event):
    assert inbound.handle(event) == {"accepted": 0, "refused": 0}
