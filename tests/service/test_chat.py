"""The chat service through app.py's handlers, on moto: what visitors and operators receive."""
from __future__ import annotations

import json

import pytest

from tests.moto_chat import CONSOLE, SHOP

pytestmark = pytest.mark.usefixtures("chat")


def visitor(chat, origin=SHOP):
    session = chat.visitor_token(origin=origin)
    assert session["status"] == 200, session
    status, conn = chat.connect(session["body"]["token"], origin)
    assert status == 200
    return session["body"], conn


def operator(chat, email="ann@demo.shop", password="pw-ann-123"):
    login = chat.operator_token(email, password)
    assert login["status"] == 200, login
    status, conn = chat.connect(login["body"]["token"], CONSOLE)
    assert status == 200
    return login["body"], conn


def msg(text, cid, **extra):
    return {"type": "message", "client_id": cid, "text": text, **extra}


def of_type(frames, kind):
    return [f for f in frames if f["type"] == kind]


def lose_the_next_dialog_race(monkeypatch):
    """The next read of a visitor's record finds no open dialog, as when a tab looked just
    before another tab claimed one; later reads see the truth."""
    from chalicelib.storage import visitor_store

    real, looked = visitor_store.get_visitor, []

    def stale_once(visitor_id):
        looked.append(visitor_id)
        found = real(visitor_id)
        if len(looked) == 1 and found is not None:
            found.open_dialog_id = None
        return found

    monkeypatch.setattr(visitor_store, "get_visitor", stale_once)


def test_visitor_message_reaches_all_its_tabs_and_every_operator(chat):
    session, tab1 = visitor(chat)
    status, tab2 = chat.connect(session["token"], SHOP)
    _, op1 = operator(chat)
    _, op2 = operator(chat)
    for tab in (tab1, tab2):
        assert chat.send(tab, {"type": "resume", "after_seq": 0})[0]["dialog_id"] is None

    frames = chat.send(tab1, msg("Is the blue mug in stock?", "cid-00000001"))
    ack = of_type(frames, "ack")[0]
    assert ack["client_id"] == "cid-00000001" and ack["seq"] == 1 and not ack["duplicate"]
    received = {conn: of_type(chat.frames(conn), "message") for conn in (tab2, op1, op2)}
    for got in received.values():
        assert [m["message"]["text"] for m in got] == ["Is the blue mug in stock?"]
    assert of_type(frames, "message")[0]["message"]["author"] == {"kind": "visitor"}
    # Operators get the dialog's summary with the message; visitors never see it.
    assert received[op1][0]["dialog"]["last_text"] == "Is the blue mug in stock?"
    assert "dialog" not in received[tab2][0] and "dialog" not in of_type(frames, "message")[0]


def test_operator_reply_reaches_the_visitor_with_name_and_order(chat):
    _, tab = visitor(chat)
    chat.send(tab, {"type": "resume", "after_seq": 0})
    dialog_id = of_type(chat.send(tab, msg("hello", "cid-00000001")), "ack")[0]["dialog_id"]
    _, op = operator(chat)
    listing = chat.send(op, {"type": "subscribe"})[0]
    assert [d["dialog_id"] for d in listing["dialogs"]] == [dialog_id]
    assert listing["dialogs"][0]["last_text"] == "hello"

    ack = of_type(chat.send(op, msg("Yes, 12 left", "op-cid-0001", dialog_id=dialog_id)), "ack")[0]
    assert ack["seq"] == 2
    received = of_type(chat.frames(tab), "message")[0]["message"]
    assert received["text"] == "Yes, 12 left"
    assert received["author"]["kind"] == "operator" and received["author"]["name"] == "Ann"
    assert "email" not in json.dumps(received)


def test_retried_message_is_stored_once_and_acked_with_the_first_seq(chat):
    _, tab = visitor(chat)
    _, op = operator(chat)
    first = of_type(chat.send(tab, msg("only once", "cid-retry-01")), "ack")[0]
    chat.frames(op)
    again = of_type(chat.send(tab, msg("only once", "cid-retry-01")), "ack")[0]
    assert again["seq"] == first["seq"] and again["duplicate"] is True
    # Delivered again under the same seq (a client keeps one message per seq), never as a new one.
    assert [f["message"]["seq"] for f in of_type(chat.frames(op), "message")] == [first["seq"]]
    history = chat.send(op, {"type": "history", "dialog_id": first["dialog_id"], "after_seq": 0})[0]
    assert [m["text"] for m in history["messages"]] == ["only once"]


def test_resume_replays_only_what_came_after(chat):
    session, tab = visitor(chat)
    _, op = operator(chat)
    dialog_id = of_type(chat.send(tab, msg("one", "cid-00000001")), "ack")[0]["dialog_id"]
    chat.send(op, msg("two", "op-00000002", dialog_id=dialog_id))
    chat.send(tab, msg("three", "cid-00000003"))
    chat.disconnect(tab)
    _, tab_again = chat.connect(session["token"], SHOP)
    history = chat.send(tab_again, {"type": "resume", "after_seq": 1})[0]
    assert history["dialog_id"] == dialog_id
    assert [(m["seq"], m["text"]) for m in history["messages"]] == [(2, "two"), (3, "three")]


def test_returning_visitor_keeps_its_identity_and_dialog(chat):
    session, tab = visitor(chat)
    chat.send(tab, msg("remember me", "cid-00000001"))
    again = chat.visitor_token(token=session["token"])["body"]
    assert again["visitor_id"] == session["visitor_id"]
    _, tab2 = chat.connect(again["token"], SHOP)
    history = chat.send(tab2, {"type": "resume", "after_seq": 0})[0]
    assert [m["text"] for m in history["messages"]] == ["remember me"]


def test_operator_of_another_site_cannot_read_or_write_the_dialog(chat):
    _, tab = visitor(chat)
    dialog_id = of_type(chat.send(tab, msg("private", "cid-00000001")), "ack")[0]["dialog_id"]
    _, olga = operator(chat, "olga@other.shop", "pw-olga-123")
    assert chat.send(olga, {"type": "subscribe"})[0]["dialogs"] == []
    for frame in ({"type": "history", "dialog_id": dialog_id},
                  msg("hijack", "olga-cid-01", dialog_id=dialog_id),
                  {"type": "typing", "dialog_id": dialog_id}):
        reply = chat.send(olga, frame)
        assert [f["code"] for f in reply] == ["not_found"]
    assert chat.frames(tab) == []  # neither the hijack nor the typing notice reached the visitor


def test_visitor_sees_only_its_own_dialog(chat):
    _, tab_a = visitor(chat)
    chat.send(tab_a, msg("secret of A", "cid-00000001"))
    _, tab_b = visitor(chat)
    history = chat.send(tab_b, {"type": "resume", "after_seq": 0})[0]
    assert history["dialog_id"] is None and history["messages"] == []
    chat.send(tab_b, msg("B here", "cid-00000002"))
    assert of_type(chat.frames(tab_a), "message") == []


def test_visitor_typing_preview_reaches_operators_only(chat):
    _, tab = visitor(chat)
    _, op = operator(chat)
    chat.send(tab, msg("hi", "cid-00000001"))
    chat.frames(op)
    chat.send(tab, {"type": "typing", "text": "I would like to ret"})
    typing = of_type(chat.frames(op), "typing")
    assert typing[0]["text"] == "I would like to ret"


@pytest.mark.parametrize("frame, code", [
    ("{oops", "bad_json"),
    ('{"type":"explode"}', "unknown_type"),
    (json.dumps(msg("x" * 4097, "cid-00000009")), "too_large"),
    (json.dumps({"type": "resume", "after_seq": "zero"}), "invalid"),
    (json.dumps({"type": "history", "dialog_id": "d_x"}), "unknown_type"),
])
def test_bad_frames_get_an_error_store_nothing_and_leave_the_connection_working(chat, frame, code):
    _, tab = visitor(chat)
    _, op = operator(chat)
    reply = chat.send(tab, frame)
    assert [f["type"] for f in reply] == ["error"] and reply[0]["code"] == code
    assert chat.send(op, {"type": "subscribe"})[0]["dialogs"] == []
    assert of_type(chat.send(tab, msg("still works", "cid-00000010")), "ack")


def test_connect_refuses_bad_tokens_origins_and_versions(chat):
    session = chat.visitor_token()["body"]
    login = chat.operator_token()["body"]
    assert chat.connect(None)[0] == 400
    assert chat.connect(session["token"], version="2")[0] == 400
    assert chat.connect("p1.forged.token")[0] == 401
    assert chat.connect(session["token"][:-2] + "xx")[0] == 401
    assert chat.connect(session["token"], origin="https://evil.example")[0] == 403
    assert chat.connect(login["token"], origin=SHOP)[0] == 403


def test_unknown_connection_is_told_to_reconnect(chat):
    reply = chat.send("never-connected=", {"type": "ping"})
    assert reply[0]["code"] == "unauthorized"


def test_visitor_session_checks_site_and_origin(chat):
    assert chat.visitor_token(origin="https://evil.example")["status"] == 403
    assert chat.visitor_token(site_id="nope")["status"] == 404
    assert chat.visitor_token(site_id="../x")["status"] == 400
    assert chat.rest("POST", "/api/visitor/session", "not json")["status"] == 400


def test_operator_login_refuses_wrong_password_and_unknown_email(chat):
    wrong = chat.operator_token("ann@demo.shop", "nope")
    unknown = chat.operator_token("who@demo.shop", "nope")
    assert wrong["status"] == unknown["status"] == 401
    assert wrong["body"] == unknown["body"]


def test_expired_visitor_token_is_refused_at_connect(chat):
    from chalicelib.shared import auth
    from chalicelib.shared.auth import Claims
    from chalicelib.shared.config import settings

    session = chat.visitor_token()["body"]
    expired = auth.issue_token(Claims("visitor", session["visitor_id"], "demo", 1), settings.secret)
    assert chat.connect(expired)[0] == 401


def test_a_disconnected_connection_is_forgotten(chat):
    _, tab = visitor(chat)
    assert chat.send(tab, {"type": "ping"}) == [{"type": "pong"}]
    chat.disconnect(tab)
    assert [f["code"] for f in chat.send(tab, {"type": "ping"})] == ["unauthorized"]


def test_two_tabs_starting_a_dialog_at_once_end_in_one_dialog(chat, monkeypatch):
    session, tab1 = visitor(chat)
    _, tab2 = chat.connect(session["token"], SHOP)
    first = of_type(chat.send(tab1, msg("from tab one", "cid-00000001")), "ack")[0]
    lose_the_next_dialog_race(monkeypatch)  # tab two starts its own dialog, and loses the claim
    second = of_type(chat.send(tab2, msg("from tab two", "cid-00000002")), "ack")[0]

    assert second["dialog_id"] == first["dialog_id"] and second["seq"] == 2
    _, op = operator(chat)
    listing = chat.send(op, {"type": "subscribe"})[0]
    assert [d["dialog_id"] for d in listing["dialogs"]] == [first["dialog_id"]]


def test_widget_posts_text_plain_and_reads_the_answer_cross_origin(chat):
    answer = chat.rest("POST", "/api/visitor/session", {"site_id": "demo"},
                       content_type="text/plain;charset=UTF-8")
    assert answer["status"] == 200 and answer["body"]["token"]
    assert answer["headers"]["Access-Control-Allow-Origin"] == SHOP


def test_oversized_session_request_is_refused_with_a_clear_error(chat):
    answer = chat.rest("POST", "/api/visitor/session", json.dumps({"site_id": "demo", "pad": "x" * 33000}))
    assert answer["status"] == 400 and "larger than" in answer["body"]["Message"]
