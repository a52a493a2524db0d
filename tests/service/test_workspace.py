"""The operator workspace's frames through app.py's handlers, on moto: notes, tags, close and
reopen, assignment, filters, visitor cards, templates and files."""
from __future__ import annotations

import boto3
import pytest

from tests.moto_chat import SHOP
from tests.service.test_chat import msg, of_type, operator, visitor

pytestmark = pytest.mark.usefixtures("chat")
PAGE = {"url": "https://shop.example/mugs?utm_source=news", "title": "Mugs", "referrer": "https://www.google.com/"}


def start_dialog(chat, text="Do you ship to Norway?", cid="cid-v0000001"):
    session, tab = visitor(chat)
    chat.send(tab, {"type": "resume", "after_seq": 0})
    ack = of_type(chat.send(tab, msg(text, cid)), "ack")[0]
    return session, tab, ack["dialog_id"]


def only(frames, kind):
    found = of_type(frames, kind)
    assert len(found) == 1, frames
    return found[0]


def test_a_note_reaches_every_operator_and_never_the_visitor(chat):
    session, tab, dialog_id = start_dialog(chat)
    _, op1 = operator(chat)
    _, op2 = operator(chat)
    frames = chat.send(op1, msg("VIP customer, be nice", "note-cid-01", dialog_id=dialog_id, note=True))
    assert only(frames, "ack")["seq"] == 2
    assert only(chat.frames(op2), "message")["message"]["note"] is True
    chat.send(op1, msg("We do!", "op-cid-0001", dialog_id=dialog_id))
    seen = [f["message"]["text"] for f in of_type(chat.frames(tab), "message")]
    assert seen == ["We do!"]
    # Nor in the visitor's history, from a fresh tab, whatever after_seq it asks from.
    _, tab2 = chat.connect(chat.visitor_token(token=session["token"])["body"]["token"], SHOP)
    for after in (0, 1):
        history = only(chat.send(tab2, {"type": "resume", "after_seq": after}), "history")
        assert "VIP customer" not in str(history) and history["next_after"] == 3
    operator_view = only(chat.send(op1, {"type": "history", "dialog_id": dialog_id, "after_seq": 0}), "history")
    assert [m.get("note", False) for m in operator_view["messages"]] == [False, True, False]


def test_a_visitor_cannot_write_a_note(chat):
    _, tab, dialog_id = start_dialog(chat)
    _, op = operator(chat)
    chat.send(tab, msg("sneaky", "cid-v0000002", note=True))
    got = only(chat.frames(op), "message")["message"]
    assert got["text"] == "sneaky" and "note" not in got


def test_tags_are_added_removed_and_shared_with_every_operator(chat):
    _, _, dialog_id = start_dialog(chat)
    _, op1 = operator(chat)
    _, op2 = operator(chat)
    chat.send(op1, {"type": "tag_add", "dialog_id": dialog_id, "tag": "  <b>vip</b>  "})
    chat.send(op1, {"type": "tag_add", "dialog_id": dialog_id, "tag": "shipping"})
    assert of_type(chat.frames(op2), "dialog")[-1]["dialog"]["tags"] == ["<b>vip</b>", "shipping"]
    chat.send(op2, {"type": "tag_remove", "dialog_id": dialog_id, "tag": "shipping"})
    assert of_type(chat.frames(op1), "dialog")[-1]["dialog"]["tags"] == ["<b>vip</b>"]
    workspace = only(chat.send(op1, {"type": "workspace"}), "workspace")
    assert workspace["tags"] == ["<b>vip</b>", "shipping"]  # the site keeps tags once used
    refused = chat.send(op1, {"type": "tag_add", "dialog_id": dialog_id, "tag": "x" * 41})
    assert only(refused, "error")["code"] == "invalid"


def test_a_dialog_has_at_most_twenty_tags(chat):
    _, _, dialog_id = start_dialog(chat)
    _, op = operator(chat)
    for n in range(20):
        chat.send(op, {"type": "tag_add", "dialog_id": dialog_id, "tag": f"t{n}"})
    error = only(chat.send(op, {"type": "tag_add", "dialog_id": dialog_id, "tag": "one more"}), "error")
    assert "at most 20" in error["message"]
    assert not of_type(chat.send(op, {"type": "tag_add", "dialog_id": dialog_id, "tag": "t3"}), "error")


def test_closing_leaves_the_open_list_and_the_next_visitor_message_opens_a_new_dialog(chat):
    _, tab, dialog_id = start_dialog(chat)
    _, op1 = operator(chat)
    _, op2 = operator(chat)
    chat.send(op1, {"type": "close", "dialog_id": dialog_id})
    closed = only(chat.frames(op2), "dialog")["dialog"]
    assert closed["status"] == "closed" and closed["closed_at"]
    assert only(chat.frames(tab), "closed")["dialog_id"] == dialog_id
    assert only(chat.send(op2, {"type": "subscribe"}), "dialogs")["dialogs"] == []
    listing = only(chat.send(op2, {"type": "subscribe", "status": "closed"}), "dialogs")
    assert [d["dialog_id"] for d in listing["dialogs"]] == [dialog_id]

    refused = only(chat.send(op1, msg("late reply", "op-cid-0002", dialog_id=dialog_id)), "error")
    assert refused["code"] == "invalid" and "reopen" in refused["message"]
    ack = only(chat.send(tab, msg("One more question", "cid-v0000003")), "ack")
    assert ack["dialog_id"] != dialog_id and ack["seq"] == 1
    assert only(chat.frames(op2), "message")["dialog"]["status"] == "open"


def test_a_retry_of_a_message_stored_before_the_close_is_acked_not_stored_again(chat):
    _, tab, dialog_id = start_dialog(chat)
    _, op = operator(chat)
    chat.send(op, {"type": "close", "dialog_id": dialog_id})
    chat.frames(tab)
    retry = only(chat.send(tab, msg("Do you ship to Norway?", "cid-v0000001")), "ack")
    assert retry["dialog_id"] == dialog_id and retry["seq"] == 1 and retry["duplicate"] is True
    assert only(chat.send(op, {"type": "subscribe"}), "dialogs")["dialogs"] == []


def test_reopen_brings_the_dialog_back_and_the_visitor_writes_into_it(chat):
    _, tab, dialog_id = start_dialog(chat)
    _, op = operator(chat)
    chat.send(op, {"type": "close", "dialog_id": dialog_id})
    assert only(chat.send(op, {"type": "reopen", "dialog_id": dialog_id}), "dialog")["dialog"]["status"] == "open"
    assert only(chat.send(tab, msg("Thanks for reopening", "cid-v0000004")), "ack")["dialog_id"] == dialog_id
    assert only(chat.send(op, msg("Sure", "op-cid-0003", dialog_id=dialog_id)), "ack")["seq"] == 3


def test_the_first_operator_to_reply_is_assigned_and_filters_find_it(chat):
    _, _, mine = start_dialog(chat)
    _, _, other = start_dialog(chat, "Hello?", "cid-v0000009")
    login, op = operator(chat)
    me = login["operator"]["operator_id"]
    noted = chat.send(op, msg("note first", "op-cid-0004", dialog_id=mine, note=True))
    assert only(noted, "message")["dialog"]["assignee"] is None  # a note does not assign
    reply = chat.send(op, msg("Hi!", "op-cid-0005", dialog_id=mine))
    assert only(reply, "message")["dialog"]["assignee"] == {"operator_id": me, "name": "Ann"}

    def listed(**filters):
        return [d["dialog_id"] for d in only(chat.send(op, {"type": "subscribe", **filters}), "dialogs")["dialogs"]]
    assert listed(assignee="me") == [mine]
    assert listed(assignee="none") == [other]
    assert set(listed()) == {mine, other}
    chat.send(op, {"type": "presence", "status": "away"})  # else routing hands it straight back to Ann
    chat.send(op, {"type": "assign", "dialog_id": mine, "operator_id": None})
    assert set(listed(assignee="none")) == {mine, other}
    chat.send(op, {"type": "assign", "dialog_id": other, "operator_id": me})
    assert listed(assignee=me) == [other]


def test_assigning_to_another_sites_operator_is_refused(chat):
    _, _, dialog_id = start_dialog(chat)
    olga, _ = operator(chat, "olga@other.shop", "pw-olga-123")
    _, op = operator(chat)
    error = only(chat.send(op, {"type": "assign", "dialog_id": dialog_id,
                                "operator_id": olga["operator"]["operator_id"]}), "error")
    assert error["code"] == "not_found"


def test_tag_filter_pages_through_many_dialogs(chat):
    _, op = operator(chat)
    tagged = []
    for n in range(7):
        _, _, dialog_id = start_dialog(chat, f"question {n}", f"cid-v10000{n:02d}")
        if n % 3 == 0:
            chat.send(op, {"type": "tag_add", "dialog_id": dialog_id, "tag": "refund"})
            tagged.append(dialog_id)
    from chalicelib import protocol
    page = only(chat.send(op, {"type": "subscribe", "tag": "refund"}), "dialogs")
    assert sorted(d["dialog_id"] for d in page["dialogs"]) == sorted(tagged)
    # Small pages: the cursor walks through every dialog once, tag filter or not.
    original = protocol.DIALOG_PAGE
    protocol.DIALOG_PAGE = 2
    try:
        for filters, expected in (({}, 7), ({"tag": "refund"}, 3)):
            seen, cursor = [], None
            while True:
                page = only(chat.send(op, {"type": "subscribe", **filters, "cursor": cursor}), "dialogs")
                seen += [d["dialog_id"] for d in page["dialogs"]]
                cursor = page["cursor"]
                if not cursor:
                    break
            assert len(seen) == len(set(seen)) == expected
    finally:
        protocol.DIALOG_PAGE = original


def test_other_sites_cannot_touch_a_dialog(chat):
    _, _, dialog_id = start_dialog(chat)
    _, olga = operator(chat, "olga@other.shop", "pw-olga-123")
    for frame in ({"type": "tag_add", "dialog_id": dialog_id, "tag": "x"}, {"type": "close", "dialog_id": dialog_id},
                  {"type": "assign", "dialog_id": dialog_id, "operator_id": None},
                  {"type": "history", "dialog_id": dialog_id, "after_seq": 0}):
        assert only(chat.send(olga, frame), "error")["code"] == "not_found"


def test_the_visitor_card_records_pages_and_takes_valid_edits(chat):
    first = chat.rest("POST", "/api/visitor/session", {"site_id": "demo", "page": PAGE, "visit": True}, SHOP)
    token, visitor_id = first["body"]["token"], first["body"]["visitor_id"]
    second_page = {"url": "https://shop.example/cart", "title": "Cart", "referrer": "https://shop.example/mugs"}
    chat.rest("POST", "/api/visitor/session", {"site_id": "demo", "token": token, "page": second_page}, SHOP)
    _, op = operator(chat)
    card = only(chat.send(op, {"type": "visitor", "visitor_id": visitor_id}), "visitor")["visitor"]
    assert card["current_page"] == {"url": "https://shop.example/cart", "title": "Cart"}
    assert card["first_referrer"] == "https://www.google.com/" and card["visits"] == 1

    bad = only(chat.send(op, {"type": "visitor_update", "visitor_id": visitor_id, "email": "jane@"}), "error")
    assert bad["code"] == "invalid" and "not a valid email" in bad["message"]
    edited = chat.send(op, {"type": "visitor_update", "visitor_id": visitor_id, "name": "Jane <i>Doe</i>",
                            "email": "Jane@Example.com", "phone": "+44 20 7946 0000"})
    card = only(edited, "visitor")["visitor"]
    assert (card["name"], card["email"], card["phone"]) == ("Jane <i>Doe</i>", "jane@example.com", "+44 20 7946 0000")
    assert card["avatar"].startswith("https://www.gravatar.com/avatar/")
    events = only(chat.send(op, {"type": "visitor_events", "visitor_id": visitor_id}), "visitor_events")["events"]
    assert [e["kind"] for e in events] == ["edit", "edit", "edit", "pageview", "pageview"]
    assert {e["field"]: e["new"] for e in events if e["kind"] == "edit"}["email"] == "jane@example.com"


def test_a_named_visitors_dialogs_show_the_name(chat):
    session, tab, dialog_id = start_dialog(chat)
    _, op = operator(chat)
    renamed = chat.send(op, {"type": "visitor_update", "visitor_id": session["visitor_id"], "name": "Jane"})
    assert only(renamed, "dialog")["dialog"]["visitor_name"] == "Jane"
    chat.send(op, {"type": "close", "dialog_id": dialog_id})
    ack = only(chat.send(tab, msg("back again", "cid-v0000005")), "ack")
    card = only(chat.send(op, {"type": "visitor", "visitor_id": session["visitor_id"]}), "visitor")
    assert [d["dialog_id"] for d in card["dialogs"]] == [dialog_id, ack["dialog_id"]]
    assert {d["visitor_name"] for d in card["dialogs"]} == {"Jane"}


def test_templates_are_shared_edited_and_deleted(chat):
    _, op1 = operator(chat)
    _, op2 = operator(chat)
    chat.send(op1, {"type": "template_save", "shortcut": "ship", "text": "Hi {visitor.name}, we ship in 2 days."})
    saved = only(chat.frames(op2), "templates")["templates"]
    assert [(t["shortcut"], t["updated_by"]) for t in saved] == [("ship", "Ann")]
    template_id = saved[0]["template_id"]
    chat.send(op2, {"type": "template_save", "template_id": template_id, "shortcut": "ship", "text": "Two days."})
    assert only(chat.frames(op1), "templates")["templates"][0]["text"] == "Two days."
    assert only(chat.send(op1, {"type": "workspace"}), "workspace")["templates"][0]["text"] == "Two days."
    chat.send(op1, {"type": "template_delete", "template_id": template_id})
    assert only(chat.frames(op2), "templates")["templates"] == []
    gone = chat.send(op1, {"type": "template_save", "template_id": template_id, "shortcut": "x", "text": "y"})
    assert only(gone, "error")["code"] == "not_found"


def _upload(chat, conn, name="mug.png", size=68, content_type="image/png", **extra):
    return chat.send(conn, {"type": "upload", "client_id": "up-0000001", "name": name, "size": size,
                            "content_type": content_type, **extra})


def _put(answer, body: bytes, content_type="image/png"):
    from chalicelib.shared.config import settings
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=settings.data_bucket, Key=answer["file"]["key"], Body=body, ContentType=content_type)


def attach_a_file(chat, tab) -> dict:
    """A visitor uploads a small PNG (as the browser would, straight to S3) and sends it."""
    answer = only(_upload(chat, tab), "upload")
    assert answer["client_id"] == "up-0000001" and answer["fields"]["Content-Type"] == "image/png"
    _put(answer, b"\x89PNG" + b"0" * 64)
    return only(chat.send(tab, msg("", "cid-v0000006", file=answer["file"])), "ack")


def test_a_visitor_sends_a_file_and_the_operator_gets_a_link(chat):
    _, tab, dialog_id = start_dialog(chat)
    _, op = operator(chat)
    ack = attach_a_file(chat, tab)
    got = only(chat.frames(op), "message")
    assert got["message"]["seq"] == ack["seq"] and got["dialog"]["last_text"] == "📎 mug.png"
    file = got["message"]["file"]
    assert (file["name"], file["size"], file["image"]) == ("mug.png", 68, True) and file["url"].startswith("https://")


def test_uploads_outside_the_limits_are_refused(chat):
    _, tab, _ = start_dialog(chat)
    too_big = only(_upload(chat, tab, size=2 * 1024 * 1024 + 1), "error")
    assert too_big["code"] == "too_large" and too_big["client_id"] == "up-0000001"
    assert "larger than 2 MB" in too_big["message"]
    assert only(_upload(chat, tab, name="page.html", content_type="text/html"), "error")["code"] == "invalid"
    never = only(chat.send(tab, msg("", "cid-v0000007", file={"key": "files/demo/v_x/f_y", "name": "a.png"})), "error")
    assert never["code"] == "invalid" and never["client_id"] == "cid-v0000007"


def test_a_visitor_cannot_attach_another_visitors_file(chat):
    _, tab1, _ = start_dialog(chat)
    _, tab2, _ = start_dialog(chat, "me too", "cid-v0000008")
    answer = only(_upload(chat, tab1), "upload")
    _put(answer, b"secret")
    stolen = only(chat.send(tab2, msg("", "cid-v0000010", file=answer["file"])), "error")
    assert stolen["code"] == "invalid"
