"""Routing through the real handlers on moto: load-aware assignment, the FIFO queue, closing,
transfers, presence, the answer-time schedule (with a controlled clock), the offline form,
the bot first line and ratings (docs/policy.md)."""
from __future__ import annotations

import pytest

from tests.service.test_chat import msg, of_type, operator, visitor


def add_operator(name: str) -> tuple[str, str]:
    from chalicelib import admin

    email = f"{name.lower()}@demo.shop"
    admin.bootstrap_operator("demo", email, name, f"pw-{name.lower()}-123", reset=False)
    return email, f"pw-{name.lower()}-123"


def login(chat, name: str | None = None) -> tuple[str, str]:
    """An operator's console (Ann by default, else a new operator): (operator id, connection)."""
    if name is None:
        found, conn = operator(chat)
    else:
        email, password = add_operator(name)
        found = chat.operator_token(email, password)["body"]
        _, conn = chat.connect(found["token"], "https://console.example")
    chat.send(conn, {"type": "team"})
    return found["operator"]["operator_id"], conn


def new_dialog(chat, text: str = "Hello, anyone there?") -> tuple[str, str]:
    """A visitor writes: (their tab, the new dialog's id)."""
    _, tab = visitor(chat)
    chat.send(tab, {"type": "resume", "after_seq": 0})
    ack = of_type(chat.send(tab, msg(text, "cid-" + tab[:8].replace("=", "x").replace("-", "x") + "01")), "ack")[0]
    return tab, ack["dialog_id"]


def set_cap(chat, conn: str, operator_id: str, cap: int | None) -> None:
    chat.send(conn, {"type": "cap_set", "operator_id": operator_id, "cap": cap})


def summary(dialog_id: str) -> dict:
    from chalicelib.dialogs import rules
    from chalicelib.storage import dialog_store, routing_store

    return rules.dialog_summary(dialog_store.get_dialog(dialog_id), routing_store.queue_state("demo").head)


def team(chat, conn: str) -> dict:
    return of_type(chat.send(conn, {"type": "team"}), "team")[-1]


def loads(chat, conn: str) -> dict[str, tuple[int, int]]:
    return {op["name"]: (op["load"], op["cap"]) for op in team(chat, conn)["operators"]}


def test_a_new_dialog_goes_to_the_operator_with_most_room_and_ties_to_the_longest_idle(chat):
    ann, ann_conn = login(chat)
    ben, _ = login(chat, "Ben")
    set_cap(chat, ann_conn, ann, 4)  # Ann has more room than Ben (default 3)
    _, first = new_dialog(chat)
    assert summary(first)["assignee"]["operator_id"] == ann
    _, second = new_dialog(chat)  # 3 spare each now: Ben was idle longer
    assert summary(second)["assignee"]["operator_id"] == ben
    _, third = new_dialog(chat)  # 3 vs 2 spare: Ann
    assert summary(third)["assignee"]["operator_id"] == ann
    assert loads(chat, ann_conn) == {"Ann": (2, 4), "Ben": (1, 3)}


def test_when_everyone_is_full_dialogs_queue_in_order_and_a_close_serves_the_head(chat):
    ann, ann_conn = login(chat)
    set_cap(chat, ann_conn, ann, 1)
    _, held = new_dialog(chat)
    queued = [new_dialog(chat, f"Question {n}") for n in range(3)]
    assert summary(held)["assignee"]["operator_id"] == ann
    assert [summary(d)["queue_position"] for _, d in queued] == [1, 2, 3]
    tab, second = queued[1]
    told = of_type(chat.send(tab, {"type": "queue"}), "queue")[0]
    assert told["position"] == 2 and told["operator"] is None and told["wait_seconds"] is None  # no measure yet
    availability = of_type(chat.send(tab, {"type": "availability"}), "availability")[0]
    assert availability["available"] and availability["reason"] == "busy"

    chat.send(ann_conn, {"type": "close", "dialog_id": held})
    first_tab, first = queued[0]
    assert summary(first)["assignee"]["operator_id"] == ann
    assert of_type(chat.frames(first_tab), "queue")[-1]["operator"] == {"name": "Ann"}
    assert [summary(d)["queue_position"] for _, d in queued[1:]] == [1, 2]
    # the measured handling time now gives queued visitors an estimate
    assert of_type(chat.send(tab, {"type": "queue"}), "queue")[0]["wait_seconds"] is not None


def test_a_new_dialog_never_overtakes_the_queue(chat):
    ann, ann_conn = login(chat)
    set_cap(chat, ann_conn, ann, 1)
    new_dialog(chat)
    _, waiting = new_dialog(chat)
    set_cap(chat, ann_conn, ann, 2)  # a slot frees: the queue's head takes it, not a newcomer
    assert summary(waiting)["assignee"]["operator_id"] == ann
    _, later = new_dialog(chat)
    assert summary(later)["assignee"] is None and summary(later)["queue_position"] == 1


def test_transfer_hands_over_history_and_a_note_and_is_refused_when_the_receiver_is_full(chat):
    ann, ann_conn = login(chat)
    ben, ben_conn = login(chat, "Ben")
    chat.send(ben_conn, {"type": "presence", "status": "away"})
    tab, dialog_id = new_dialog(chat, "My order 1234 is late")
    assert summary(dialog_id)["assignee"]["operator_id"] == ann
    chat.send(ben_conn, {"type": "presence", "status": "online"})
    frames = chat.send(ann_conn, {"type": "transfer", "dialog_id": dialog_id, "operator_id": ben,
                                  "comment": "Order 1234: courier lost it, refund approved"})
    note = [f["message"] for f in of_type(frames, "message") if f["message"].get("note")]
    assert note and note[0]["text"] == "Transferred to Ben by Ann: Order 1234: courier lost it, refund approved"
    assert summary(dialog_id)["assignee"]["operator_id"] == ben
    assert loads(chat, ann_conn) == {"Ann": (0, 3), "Ben": (1, 3)}
    history = of_type(chat.send(ben_conn, {"type": "history", "dialog_id": dialog_id}), "history")[0]
    assert [m["text"] for m in history["messages"]][0] == "My order 1234 is late"
    # the visitor sees one conversation: no note, the new operator's name
    seen = chat.frames(tab)
    assert not [f for f in of_type(seen, "message") if f["message"].get("note")]
    assert of_type(seen, "queue")[-1]["operator"] == {"name": "Ben"}

    set_cap(chat, ann_conn, ann, 1)
    chat.send(ben_conn, {"type": "presence", "status": "away"})
    _, other = new_dialog(chat)
    assert summary(other)["assignee"]["operator_id"] == ann
    refused = of_type(chat.send(ben_conn, {"type": "transfer", "dialog_id": dialog_id, "operator_id": ann}), "error")
    assert refused and refused[0]["message"] == "Ann is at capacity (1 of 1)"
    assert summary(dialog_id)["assignee"]["operator_id"] == ben


def test_away_operators_get_nothing_and_a_closed_console_keeps_them_available_for_the_grace(chat):
    from chalicelib.routing import policy
    from chalicelib.storage import routing_store

    ann, ann_conn = login(chat)
    chat.send(ann_conn, {"type": "presence", "status": "away"})
    tab, dialog_id = new_dialog(chat)
    assert summary(dialog_id)["assignee"] is None and summary(dialog_id)["queue_position"] == 1
    assert of_type(chat.send(tab, {"type": "availability"}), "availability")[0]["reason"] == "away"
    chat.send(ann_conn, {"type": "presence", "status": "online"})
    assert summary(dialog_id)["assignee"]["operator_id"] == ann  # back online: the queue drains to her

    chat.disconnect(ann_conn)
    state = next(s for s in routing_store.operator_states("demo") if s.operator_id == ann)
    assert not state.connected
    assert policy.available(state, state.gone_at + policy.GRACE_MS - 1)  # a reload does not flicker
    assert not policy.available(state, state.gone_at + policy.GRACE_MS)
    assert policy.shown_presence(state, state.gone_at + policy.GRACE_MS) == "offline"


def test_closing_frees_capacity_and_a_later_message_starts_a_linked_dialog(chat):
    ann, ann_conn = login(chat)
    tab, dialog_id = new_dialog(chat)
    chat.send(ann_conn, {"type": "close", "dialog_id": dialog_id})
    assert loads(chat, ann_conn)["Ann"] == (0, 3)
    chat.send(ann_conn, {"type": "close", "dialog_id": dialog_id})  # again: nothing moves
    assert loads(chat, ann_conn)["Ann"] == (0, 3)
    ack = of_type(chat.send(tab, msg("One more thing", "cid-again-0001")), "ack")[0]
    assert ack["dialog_id"] != dialog_id
    assert summary(ack["dialog_id"])["previous_dialog_id"] == dialog_id
    assert loads(chat, ann_conn)["Ann"] == (1, 3)


def test_answer_time_flags_then_offers_then_reassigns_on_the_schedule(chat):
    from chalicelib.realtime import delivery
    from chalicelib.routing import answertime
    from chalicelib.storage import dialog_store

    ann, ann_conn = login(chat)
    ben, ben_conn = login(chat, "Ben")
    chat.send(ben_conn, {"type": "presence", "status": "away"})
    _, dialog_id = new_dialog(chat)
    chat.send(ben_conn, {"type": "presence", "status": "online"})
    since = int(dialog_store.get_dialog(dialog_id).waiting_since)
    endpoint = delivery.endpoint_for("abc123.execute-api.us-east-1.amazonaws.com", "test")

    assert answertime.run_schedule(endpoint, since + 29_000).flagged == 0
    assert answertime.run_schedule(endpoint, since + 31_000).flagged == 1
    assert summary(dialog_id)["late"] and summary(dialog_id)["offered_to"] is None
    report = answertime.run_schedule(endpoint, since + 91_000)
    assert report.offered == 1 and summary(dialog_id)["offered_to"]["operator_id"] == ben
    assert answertime.run_schedule(endpoint, since + 100_000).reassigned == 0  # Ann still has 30 s
    assert answertime.run_schedule(endpoint, since + 122_000).reassigned == 1
    moved = summary(dialog_id)
    assert moved["assignee"]["operator_id"] == ben and moved["offered_to"] is None and moved["late"]
    # Ben answers: nothing waits any more, nothing is flagged
    chat.send(ben_conn, msg("Sorry for the wait!", "op-cid-ben-01", dialog_id=dialog_id))
    answered = summary(dialog_id)
    assert answered["waiting_since"] is None and not answered["late"]
    assert answertime.run_schedule(endpoint, since + 400_000).waiting == 0


def test_the_offered_operator_can_take_the_dialog_at_once(chat):
    from chalicelib.realtime import delivery
    from chalicelib.routing import answertime
    from chalicelib.storage import dialog_store

    ann, _ = login(chat)
    ben, ben_conn = login(chat, "Ben")
    chat.send(ben_conn, {"type": "presence", "status": "away"})
    _, dialog_id = new_dialog(chat)
    chat.send(ben_conn, {"type": "presence", "status": "online"})
    since = int(dialog_store.get_dialog(dialog_id).waiting_since)
    answertime.run_schedule(delivery.endpoint_for("abc123.execute-api.us-east-1.amazonaws.com", "test"),
                            since + 91_000)
    assert summary(dialog_id)["offered_to"]["operator_id"] == ben
    chat.send(ben_conn, {"type": "assign", "dialog_id": dialog_id, "operator_id": ben})
    assert summary(dialog_id)["assignee"]["operator_id"] == ben and summary(dialog_id)["offered_to"] is None


def test_the_offline_form_stores_the_message_answers_and_emails_the_operators(chat):
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain="mail.shop.example")
    session, tab = visitor(chat)
    resumed = chat.send(tab, {"type": "resume", "after_seq": 0})
    assert of_type(resumed, "availability")[0] == {
        "type": "availability", "available": False, "reason": "offline", "queue": {"length": 0, "wait_seconds": None}}
    bad = of_type(chat.send(tab, {"type": "leave_message", "client_id": "left-000001", "email": "nope",
                                  "text": "Hi"}), "error")[0]
    assert bad["client_id"] == "left-000001" and "email" in bad["message"]
    frames = chat.send(tab, {"type": "leave_message", "client_id": "left-000002", "name": "Jane <b>",
                             "email": "jane@example.com", "text": "Do you ship to Norway?"})
    ack = of_type(frames, "ack")[0]
    texts = [f["message"]["text"] for f in of_type(frames, "message")]
    assert texts[0] == "Do you ship to Norway?" and "jane@example.com" in texts[1]
    assert of_type(frames, "message")[1]["message"]["author"]["kind"] == "bot"
    again = chat.send(tab, {"type": "leave_message", "client_id": "left-000002", "email": "jane@example.com",
                            "text": "Do you ship to Norway?"})
    assert of_type(again, "ack")[0]["duplicate"] and of_type(again, "ack")[0]["seq"] == ack["seq"]
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    to_ann = [m for m in sent if "ann@demo.shop" in str(getattr(m, "destinations", ""))]
    assert to_ann and "Do you ship to Norway?" in str(to_ann[-1].body)
    # the operator who comes online gets it, and sees who left it
    ann, ann_conn = login(chat)
    assert summary(ack["dialog_id"])["assignee"]["operator_id"] == ann
    assert summary(ack["dialog_id"])["visitor_name"] == "Jane <b>"


def faq(chat, conn, shortcut, text, keywords=""):
    saved = chat.send(conn, {"type": "template_save", "shortcut": shortcut, "text": text, "faq": True,
                             "keywords": keywords})
    assert of_type(saved, "templates"), saved


def bot_on(chat, conn, **settings):
    saved = chat.send(conn, {"type": "settings_save", "settings": {"bot_enabled": True, **settings}})
    assert of_type(saved, "proactive") and of_type(saved, "proactive")[-1]["settings"]["bot_enabled"], saved


def ask(chat, text: str) -> tuple[str, str, list[dict]]:
    """A new visitor's first message: (tab, dialog id, the frames their tab got)."""
    _, tab = visitor(chat)
    chat.send(tab, {"type": "resume", "after_seq": 0})
    frames = chat.send(tab, msg(text, "cid-ask-" + tab[:8].replace("=", "x").replace("-", "x")))
    return tab, of_type(frames, "ack")[0]["dialog_id"], frames


def test_the_bot_answers_from_faq_templates_and_hands_off_with_what_it_learned(chat):
    ann, ann_conn = login(chat)
    bot_on(chat, ann_conn, bot_name="Shopbot")
    faq(chat, ann_conn, "shipping", "We ship to all of Europe in 3-5 working days.", "delivery ship shipping norway")
    faq(chat, ann_conn, "returns", "You can return anything within 30 days for a full refund.", "return refund")
    faq(chat, ann_conn, "payment", "We take Visa, Mastercard and PayPal.", "pay paypal card")
    tab, dialog_id, frames = ask(chat, "How long does delivery to Norway take?")
    answer = of_type(frames, "message")[-1]["message"]
    assert answer["author"] == {"kind": "bot", "name": "Shopbot"} and "3-5 working days" in answer["text"]
    assert summary(dialog_id)["bot"] == "active" and summary(dialog_id)["assignee"] is None
    assert summary(dialog_id)["waiting_since"] is None  # the bot answered: nobody waits

    frames = chat.send(tab, msg("I want to talk to a real person please", "cid-bot-0002"))
    visible = of_type(frames, "message")
    assert visible[-1]["message"]["author"]["kind"] == "bot" and not visible[-1]["message"].get("note")
    assert summary(dialog_id)["bot"] == "handed_off"
    assert summary(dialog_id)["assignee"]["operator_id"] == ann
    ops = of_type(chat.frames(ann_conn), "message")
    note = [f["message"] for f in ops if f["message"].get("note")][-1]
    assert "asked for a person" in note["text"] and "shipping" in note["text"]
    assert "How long does delivery to Norway take?" in note["text"]
    # a hand-off note never reaches the visitor, not even on a reload
    history = of_type(chat.send(tab, {"type": "resume", "after_seq": 0}), "history")[0]
    assert not [m for m in history["messages"] if m.get("note")]


def test_the_bot_hands_off_when_it_has_no_answer(chat):
    ann, ann_conn = login(chat)
    bot_on(chat, ann_conn)
    faq(chat, ann_conn, "shipping", "We ship to all of Europe in 3-5 working days.", "delivery ship")
    tab, dialog_id = new_dialog(chat, "Is the blue mug dishwasher safe?")
    assert summary(dialog_id)["bot"] == "handed_off"
    assert summary(dialog_id)["assignee"]["operator_id"] == ann
    assert summary(dialog_id)["waiting_since"] is not None


def test_a_visitor_rates_their_closed_dialog_and_only_theirs(chat):
    ann, ann_conn = login(chat)
    tab, dialog_id = new_dialog(chat)
    chat.send(ann_conn, {"type": "close", "dialog_id": dialog_id})
    rated = of_type(chat.send(tab, {"type": "rate", "dialog_id": dialog_id, "score": "bad",
                                    "comment": "Too slow"}), "rated")[0]
    assert rated == {"type": "rated", "dialog_id": dialog_id, "score": "bad", "comment": "Too slow"}
    assert summary(dialog_id)["rating"]["score"] == "bad"
    pushed = [f for f in of_type(chat.frames(ann_conn), "dialog") if f["dialog"]["dialog_id"] == dialog_id]
    assert pushed[-1]["dialog"]["rating"]["comment"] == "Too slow"
    other_tab, _ = new_dialog(chat)
    refused = of_type(chat.send(other_tab, {"type": "rate", "dialog_id": dialog_id, "score": "good"}), "error")
    assert refused[0]["code"] == "not_found" and summary(dialog_id)["rating"]["score"] == "bad"


def test_a_rating_link_from_an_email_asks_before_it_rates(chat):
    from chalicelib.mail import mirror, tokens
    from chalicelib.routing import ratings

    _, dialog_id = new_dialog(chat)
    token = tokens.rate_token(mirror.site_key("demo"), dialog_id)  # as the emails carry it
    page = ratings.confirm_page(token, "good")
    assert page.status == 200 and 'value="good" checked' in page.html
    assert summary(dialog_id)["rating"] is None  # opening the link rated nothing
    done = ratings.rate_from_email(token, "good", "<script>x</script> great", None)
    assert done.status == 200 and summary(dialog_id)["rating"]["comment"] == "<script>x</script> great"
    assert ratings.confirm_page(token[:-1] + ("a" if token[-1] != "a" else "b"), "good").status == 404


@pytest.mark.parametrize("frame, error", [
    ({"type": "presence", "status": "busy"}, "status must be online, away or offline"),
    ({"type": "cap_set", "operator_id": "o_x", "cap": 0}, "operator not found"),
    ({"type": "transfer", "dialog_id": "d_nope", "operator_id": None, "comment": "x" * 1001},
     "comment is at most 1000 characters"),
])
def test_bad_routing_frames_get_clear_errors(chat, frame, error):
    _, conn = login(chat)
    got = of_type(chat.send(conn, frame), "error")
    assert got and got[0]["message"] == error


def test_a_cap_must_be_in_range(chat):
    ann, conn = login(chat)
    for cap in (0, 21, "3", True):
        got = of_type(chat.send(conn, {"type": "cap_set", "operator_id": ann, "cap": cap}), "error")
        assert got and "cap must be 1 to 20" in got[0]["message"]





def test_an_emailed_answer_carries_rating_links_that_rate_the_dialog(chat):
    import re
    import time

    import boto3

    from tests.service.test_mail import DELAY_MS, _call, _get, answer, chat_with_email, run_mirror, sent_mail, text_of

    boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain="mail.shop.example")
    _, _, op, dialog_id = chat_with_email(chat, "mia@example.com")
    answer(chat, op, dialog_id, "It ships tomorrow", "cid-rate-0001")
    run_mirror(int(time.time() * 1000) + DELAY_MS + 1000)
    text = text_of(sent_mail()[-1][1])
    links = re.findall(r"https://api\.example/api/rate\?t=(\S+)&s=(good|bad)", text)
    assert [score for _, score in links] == ["good", "bad"]
    token = links[1][0]
    opened = _get(chat, f"/api/rate?t={token}&s=bad")
    assert opened["status"] == 200 and summary(dialog_id)["rating"] is None  # a link scanner rates nothing
    assert _call(chat, "POST", "/api/rate", f"t={token}&s=bad&comment=Too+slow")["status"] == 200
    assert summary(dialog_id)["rating"]["score"] == "bad" and summary(dialog_id)["rating"]["comment"] == "Too slow"


def test_an_operator_may_take_a_dialog_themselves_beyond_their_cap_but_routing_never_gives_one(chat):
    ann, ann_conn = login(chat)
    set_cap(chat, ann_conn, ann, 1)
    _, held = new_dialog(chat)
    _, queued = new_dialog(chat)
    assert summary(queued)["assignee"] is None and summary(queued)["queue_position"] == 1
    chat.send(ann_conn, msg("I can take this one too", "op-cid-take-01", dialog_id=queued))
    assert summary(queued)["assignee"]["operator_id"] == ann and summary(queued)["queued_at"] is None
    assert loads(chat, ann_conn)["Ann"] == (2, 1)
    _, later = new_dialog(chat)  # routing still holds her to her cap
    assert summary(later)["assignee"] is None and summary(later)["queue_position"] == 1


def test_every_write_of_a_dialog_raises_its_summary_version_so_clients_can_drop_stale_pushes(chat):
    _, conn = login(chat)
    _, dialog_id = new_dialog(chat)
    before = summary(dialog_id)["version"]
    tagged = of_type(chat.send(conn, {"type": "tag_add", "dialog_id": dialog_id, "tag": "vip"}), "dialog")[-1]["dialog"]
    assert tagged["tags"] == ["vip"] and tagged["version"] > before
    answered = of_type(chat.send(conn, msg("Hello!", "op-cid-ver-01", dialog_id=dialog_id)), "message")[-1]["dialog"]
    assert answered["version"] > tagged["version"]
