"""The deploy template's IAM policy against the AWS calls Parley's code really makes.

Every call Lambda code made during this test run (tests/iam_recorder.py) must be allowed by
the policy, and every data grant in the policy must have been used by some call: the policy
is exactly as wide as the code. A representative chat runs first, so this holds even when the
file runs alone.
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any

import pytest

from infra.cloud import policy
from tests import iam_recorder
from tests.iam_recorder import ACCOUNT, REGION, Call
from tests.moto_chat import SHOP
from tests.service.test_chat import lose_the_next_dialog_race, msg, of_type, operator, visitor

MAIL_DOMAIN = "mail.shop.example"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
          "WebsocketAPI": "WEBSOCKET_API", "DataBucket": "parley-test-data"}


def _resolve(value: Any) -> str:
    if isinstance(value, str):
        return value
    return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO[m.group(1)], value["Fn::Sub"])


def _statements() -> list[dict[str, Any]]:
    document = policy.policy_document("parley-test", "parley-test-", MAIL_DOMAIN)
    return [{**s, "Resource": [_resolve(r) for r in s["Resource"]]} for s in document["Statement"]]


def _data_statements() -> list[dict[str, Any]]:
    return [s for s in _statements() if s["Sid"] != "OwnLogs"]


def _allows(statement: dict[str, Any], call: Call) -> bool:
    return (statement["Effect"] == "Allow"
            and any(fnmatch.fnmatchcase(call.action.lower(), a.lower()) for a in statement["Action"])
            and any(fnmatch.fnmatchcase(call.resource, r) for r in statement["Resource"]))


def _deployed_stage(call: Call) -> Call:
    """The harness posts to stage "test"; deployed functions post to the policy's stage."""
    return Call(call.action, re.sub(r"WEBSOCKET_API/[^/]+/", f"WEBSOCKET_API/{policy.WS_STAGE}/", call.resource))


@pytest.fixture(scope="module")
def recorded(request) -> set[Call]:
    """Every call recorded in this run, after a chat that touches every access pattern."""
    from moto import mock_aws  # the `chat` fixture is function-scoped; run one here

    from tests.moto_chat import MotoChat

    with mock_aws():
        from chalicelib import admin
        admin.create_tables()
        admin.seed_demo([SHOP], "ann@demo.shop", "pw-ann-123")
        _representative_chat(MotoChat(), request.getfixturevalue("monkeypatch_module"))
    return {_deployed_stage(call) for call in iam_recorder.RECORDER.snapshot()}


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patcher:
        yield patcher


def _representative_chat(chat, monkeypatch) -> None:
    from chalicelib.storage import connection_store

    page = {"url": "https://shop.example/", "title": "Shop", "referrer": "https://www.google.com/"}
    chat.rest("POST", "/api/visitor/session", {"site_id": "demo", "page": page, "visit": True}, SHOP)
    session, tab1 = visitor(chat)
    chat.send(tab1, {"type": "resume", "after_seq": 0})
    ack = of_type(chat.send(tab1, msg("hello", "cid-00000001")), "ack")[0]
    chat.send(tab1, msg("hello", "cid-00000001"))  # a retry
    _, tab2 = chat.connect(chat.visitor_token(token=session["token"])["body"]["token"], SHOP)
    lose_the_next_dialog_race(monkeypatch)
    chat.send(tab2, msg("racing tab", "cid-00000002"))  # loses the race for a new dialog
    monkeypatch.undo()
    _, op = operator(chat)
    chat.send(op, {"type": "subscribe"})
    chat.send(op, {"type": "history", "dialog_id": ack["dialog_id"], "after_seq": 0})
    chat.send(op, msg("hi there", "cid-00000003", dialog_id=ack["dialog_id"]))
    _representative_workspace(chat, op, tab1, session["visitor_id"], ack["dialog_id"])
    monkeypatch.setattr(connection_store, "_connections", connection_store._ConnectionCache())  # a cold container
    chat.send(tab1, {"type": "typing", "text": "and"})
    chat.disconnect(tab2)
    _representative_proactive(chat, op, monkeypatch)
    _representative_mail(chat)
    _representative_routing(chat)
    chat.disconnect(op)


def _representative_routing(chat) -> None:
    """Presence, caps, the queue, transfers, the answer-time schedule, the offline form, the
    bot and ratings: every routing pattern."""
    import time

    from chalicelib.routing import answertime
    from tests.service.test_proactive import ENDPOINT
    from tests.service.test_routing import ask, bot_on, faq, login, new_dialog

    ann, ann_conn = login(chat)
    ben, ben_conn = login(chat, "Ben")
    chat.send(ann_conn, {"type": "cap_set", "operator_id": ann, "cap": 1})
    chat.send(ben_conn, {"type": "presence", "status": "away"})
    _, held = new_dialog(chat)
    tab, queued = new_dialog(chat)
    chat.send(tab, {"type": "queue"})
    chat.send(ben_conn, {"type": "presence", "status": "online"})
    chat.send(ann_conn, {"type": "transfer", "dialog_id": held, "operator_id": None, "comment": "over to you"})
    answertime.run_schedule(ENDPOINT, int(time.time() * 1000) + 200_000)
    chat.send(ben_conn, {"type": "close", "dialog_id": held})
    chat.send(tab, {"type": "rate", "dialog_id": queued, "score": "good"})
    bot_on(chat, ann_conn)
    faq(chat, ann_conn, "shipping", "We ship in 3 days.", "delivery")
    ask(chat, "how long is delivery?")
    for conn in (ann_conn, ben_conn):
        chat.send(conn, {"type": "presence", "status": "offline"})
    _, left = chat.connect(chat.visitor_token()["body"]["token"], SHOP)
    chat.send(left, {"type": "leave_message", "client_id": "left-policy-1", "email": "kim@example.com", "text": "Hi"})


def _representative_proactive(chat, op, monkeypatch) -> None:
    """Tracking, triggers, the schedule, follow-up mail and blocking: every new access pattern."""
    import time

    import boto3

    from chalicelib.mail import outbound
    from chalicelib.proactive import greetings
    from chalicelib.shared import config
    from chalicelib.visitors import tracking
    from tests.service.test_proactive import ENDPOINT, greeting_trigger

    monkeypatch.setattr(outbound, "settings", config.load_settings({"PARLEY_MAIL_FROM": policy.mail_from(MAIL_DOMAIN)}))
    boto3.client("ses", region_name=REGION).verify_domain_identity(Domain=MAIL_DOMAIN)
    instant = greeting_trigger(match={"all": [{"field": "url", "op": "contains", "value": "/pricing"}]})
    cart = {"name": "Cart", "enabled": True, "match": {"all": [
        {"field": "event", "key": "added_to_cart.value", "op": "gt", "value": 100}]},
        "action": {"kind": "email", "subject": "Your cart", "text": "Still there?", "delay_minutes": 60}}
    for frame in ({"type": "segment_save", "segment": {"name": "Has email", "match": {"all": [
                      {"field": "has_email", "op": "is", "value": True}]}}},
                  {"type": "trigger_save", "trigger": instant}, {"type": "trigger_save", "trigger": cart},
                  {"type": "settings_save", "settings": {"goal_event": "purchase"}}):
        chat.send(op, frame)
    page = {"url": "https://shop.example/pricing", "title": "Pricing", "referrer": ""}
    session = chat.visitor_token(page=page)["body"]
    _, tab = chat.connect(session["token"], SHOP)
    greeting = of_type(chat.send(tab, {"type": "resume", "after_seq": 0}), "greeting")[0]
    chat.send(tab, msg("yes please", "cid-00000009", greeting_id=greeting["greeting_id"]))
    chat.send(tab, {"type": "track", "name": "purchase"})
    chat.send(tab, {"type": "track", "name": "added_to_cart", "props": {"value": 150}})
    good = tracking.identity_hash(tracking.site_secret("demo"), "7")
    chat.send(tab, {"type": "identify", "id": "7", "hash": good, "email": "jane@example.com"})
    chat.send(op, {"type": "monitor"})
    chat.send(op, {"type": "invite", "visitor_id": session["visitor_id"], "text": "Hello!"})
    chat.send(op, {"type": "subscribe", "segment": "g_x"})
    chat.disconnect(tab)
    greetings.run_schedule(ENDPOINT, int(time.time() * 1000) + 2 * 3600_000)
    view = of_type(chat.send(op, {"type": "proactive"}), "proactive")[-1]
    chat.send(op, {"type": "trigger_delete", "trigger_id": view["triggers"][0]["trigger_id"]})
    other = chat.visitor_token(page=page)["body"]
    chat.connect(other["token"], SHOP)
    blocked = of_type(chat.send(op, {"type": "block_add", "block": {"kind": "visitor", "value": other["visitor_id"]}}),
                      "proactive")[-1]
    chat.send(op, {"type": "block_remove", "block_id": blocked["blocks"][0]["block_id"]})


def _representative_mail(chat) -> None:
    """The mirror's schedule and an email reply, threaded and new: every mail pattern."""
    import time
    from email.message import EmailMessage

    from tests.service.test_mail import DELAY_MS, answer, chat_with_email, deliver, reply_to, run_mirror, sent_mail

    _, tab, op, dialog_id = chat_with_email(chat, "mia@example.com")
    answer(chat, op, dialog_id, "Emailed answer", "cid-m0000001")
    chat.send(tab, {"type": "read", "seq": 1})
    run_mirror(int(time.time() * 1000) + DELAY_MS + 1000)
    sent = sent_mail()[-1]
    reply = reply_to(sent, "Reply with a file", sender="mia@example.com",
                     attachments=(("a.pdf", b"%PDF-1.4 x", "application/pdf"),))
    deliver(reply, [sent[1]["Reply-To"].addresses[0].addr_spec])
    fresh = EmailMessage()
    fresh["From"], fresh["To"], fresh["Subject"] = "mia@example.com", f"support@{MAIL_DOMAIN}", "Hi"
    fresh.set_content("A new question")
    chat.send(op, {"type": "close", "dialog_id": dialog_id})
    deliver(fresh.as_bytes(), [f"support@{MAIL_DOMAIN}"])


def _representative_workspace(chat, op, tab, visitor_id, dialog_id) -> None:
    from tests.service.test_workspace import attach_a_file

    dialog = {"dialog_id": dialog_id}
    for frame in ({"type": "workspace"}, {"type": "tag_add", **dialog, "tag": "vip"},
                  {"type": "subscribe", "assignee": "me", "tag": "vip"},
                  {"type": "assign", **dialog, "operator_id": None},
                  {"type": "visitor_update", "visitor_id": visitor_id, "name": "Jane"},
                  {"type": "visitor", "visitor_id": visitor_id},
                  {"type": "visitor_events", "visitor_id": visitor_id}):
        chat.send(op, frame)
    saved = chat.send(op, {"type": "template_save", "shortcut": "hi", "text": "Hello"})
    template_id = of_type(saved, "templates")[-1]["templates"][0]["template_id"]
    chat.send(op, {"type": "template_delete", "template_id": template_id})
    attach_a_file(chat, tab)
    chat.send(op, {"type": "close", **dialog})
    chat.send(op, {"type": "reopen", **dialog})


def test_policy_allows_every_call_the_code_makes(recorded):
    statements = _statements()
    denied = sorted(f"{c.action} {c.resource}" for c in recorded
                    if not any(_allows(s, c) for s in statements))
    assert not denied, "calls the deployed functions would be refused:\n" + "\n".join(denied)


def test_policy_grants_nothing_the_code_does_not_use(recorded):
    unused = []
    for statement in _data_statements():
        for action in statement["Action"]:
            for resource in statement["Resource"]:
                if not any(fnmatch.fnmatchcase(c.action.lower(), action.lower())
                           and fnmatch.fnmatchcase(c.resource, resource) for c in recorded):
                    unused.append(f"{action} {resource}")
    assert not unused, "grants no recorded call used:\n" + "\n".join(unused)


def test_data_grants_name_their_tables_and_actions():
    for statement in _data_statements():
        assert all("*" not in action for action in statement["Action"]), statement
        for resource in statement["Resource"]:
            assert "*" not in resource or resource.endswith(("/@connections/*", ":::parley-test-data/files/*",
                                                                   ":::parley-test-data/inbound/*")), \
                resource


def test_recorder_sees_a_call_the_policy_would_refuse():
    """The check above can fail: a call to a table the policy does not name is refused."""
    stray = iam_recorder.to_iam("dynamodb", "Scan", {"TableName": "parley-test-messages"}, "")
    assert not any(_allows(s, stray[0]) for s in _statements())
