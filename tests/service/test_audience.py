"""Who hears each frame the server sends (chalicelib/realtime/audience.py), one row per case.

Every test builds the same world on a fresh moto account: Ann's console twice on "demo" (ann,
ann2: a second tab tells "the sender" from "the site's operators"), Olga's console on "other",
visitor V with two tabs (v1, v2) and a dialog, visitor W of "demo" with one tab. A row performs
one action and states exactly which connections then get a frame of its type. Every row also
checks that no visitor tab ever got a note, an operator-only field or frame type, or another
visitor's data, and that Olga and W never see V's visitor or dialog.

Server frame types (`grep -rhoE '"type": "[a-z_]+"' chalicelib | sort -u`) not covered here:
none. Cases not triggered: `greeting`/`greeted` from a trigger (the same fan-out as an
invitation, covered, but a trigger needs the clock moved), the answer-time schedule's `dialog`
frames (a schedule, not a socket frame), `message` from the bot (needs the bot and its FAQs).
"""
from __future__ import annotations

import dataclasses
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import boto3
import pytest

from tests.moto_chat import CONSOLE, SHOP, MotoChat

NOTE = "NOTE-for-operators-7f3a"
COMMENT = "TRANSFER-for-operators-91c2"
W_TEXT = "W-private-question-5d1e"
ORIGINAL = "QUOTED-ORIGINAL-email-44b0"
PRICING = {"url": "https://shop.example/pricing", "title": "Pricing"}
ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/test"
OPERATORS = {"ann", "ann2"}
V_TABS = {"v1", "v2"}
VISITOR_CONNS = ("v1", "v2", "w")
# Frame types only an operator's console may ever receive.
OPERATOR_ONLY = {"dialog", "dialogs", "visitor", "visitor_events", "team", "templates", "proactive", "live",
                 "left", "monitor", "greeted", "invited", "workspace"}
# Keys that exist only in operators' views (notes, the email a message came from, summaries).
OPERATOR_KEYS = {"note", "email_from", "original", "left_out", "tags", "assignee", "visitor_email"}


@dataclass
class World:
    chat: MotoChat
    monkeypatch: pytest.MonkeyPatch
    conns: dict[str, str] = field(default_factory=dict)  # name -> connection id
    ids: dict[str, str] = field(default_factory=dict)  # v, w (visitor ids), v_token, ann, dialog
    seen: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # every frame, setup included
    unread: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # what `send` read for its sender

    def send(self, who: str, frame: dict[str, Any]) -> None:
        self.unread.setdefault(who, []).extend(self.chat.send(self.conns[who], frame))

    def read(self) -> dict[str, list[dict[str, Any]]]:
        got = {name: self.unread.pop(name, []) + self.chat.frames(conn) for name, conn in self.conns.items()}
        for name, frames in got.items():
            self.seen.setdefault(name, []).extend(frames)
        return got


def _connect(world: World, name: str, token: str, origin: str) -> None:
    status, conn = world.chat.connect(token, origin)
    assert status == 200, name
    world.conns[name] = conn


def _visitor(world: World, key: str, tabs: tuple[str, ...]) -> None:
    session = world.chat.visitor_token(page=PRICING)
    assert session["status"] == 200, session
    world.ids[key], world.ids[f"{key}_token"] = session["body"]["visitor_id"], session["body"]["token"]
    for tab in tabs:
        _connect(world, tab, session["body"]["token"], SHOP)
        world.send(tab, {"type": "resume", "after_seq": 0})


def setup_world(chat: MotoChat, monkeypatch: pytest.MonkeyPatch) -> World:
    world = World(chat, monkeypatch)
    ann = chat.operator_token()
    world.ids["ann"] = ann["body"]["operator"]["operator_id"]
    _connect(world, "ann", ann["body"]["token"], CONSOLE)
    _connect(world, "ann2", ann["body"]["token"], CONSOLE)
    world.send("ann", {"type": "presence", "status": "online"})  # routing assigns her V's dialog
    _connect(world, "olga", chat.operator_token("olga@other.shop", "pw-olga-123")["body"]["token"], CONSOLE)
    _visitor(world, "v", ("v1", "v2"))
    _visitor(world, "w", ("w",))
    world.send("v1", {"type": "message", "client_id": "cid-v-first-0001", "text": "Is this mug in stock?"})
    acks = [f for f in world.read()["v1"] if f["type"] == "ack"]
    world.ids["dialog"] = acks[0]["dialog_id"]
    return world


# --- actions ----------------------------------------------------------------------------------

Action = Callable[[World], None]


def op_says(text: str, **extra: Any) -> Action:
    return lambda w: w.send("ann", {"type": "message", "dialog_id": w.ids["dialog"],
                                    "client_id": "cid-" + secrets.token_hex(6), "text": text, **extra})


def v1_says(text: str) -> Action:
    return lambda w: w.send("v1", {"type": "message", "client_id": "cid-" + secrets.token_hex(6), "text": text})


def ann_sends(frame: dict[str, Any]) -> Action:
    """`{dialog}` and `{v}` in a frame's string values stand for V's dialog and visitor id."""
    return lambda w: w.send("ann", {k: v.format(dialog=w.ids["dialog"], v=w.ids["v"]) if isinstance(v, str) else v
                                    for k, v in frame.items()})


def sends(who: str, frame: dict[str, Any]) -> Action:
    return lambda w: w.send(who, {k: v.format(dialog=w.ids["dialog"]) if isinstance(v, str) else v
                                  for k, v in frame.items()})


def assign_to_ann(w: World) -> None:
    w.send("ann", {"type": "assign", "dialog_id": w.ids["dialog"], "operator_id": w.ids["ann"]})


def page_view(w: World) -> None:
    """V opens another page. The session POST pushes `live` only where the websocket endpoint
    is configured (PARLEY_WS_ENDPOINT, as deployed); here it is set for that module alone."""
    from chalicelib.http import sessions

    w.monkeypatch.setattr(sessions, "settings", dataclasses.replace(sessions.settings, ws_endpoint=ENDPOINT))
    got = w.chat.visitor_token(token=w.ids["v_token"], page={"url": "https://shop.example/mugs", "title": "Mugs"})
    assert got["status"] == 200, got


def w_leaves(w: World) -> None:
    w.chat.disconnect(w.conns["w"])


def check_in(w: World) -> None:
    """A trigger with a time condition not met yet: the checking tab is told when to come back."""
    trigger = {"name": "Pricing help", "enabled": True, "holdout_percent": 0,
               "match": {"all": [{"field": "url", "op": "contains", "value": "/pricing"},
                                 {"field": "time_on_page", "op": "gte", "value": 600}]},
               "action": {"kind": "message", "text": "Questions?", "sender": {"kind": "site"},
                          "open_desktop": True, "open_mobile": False}}
    w.send("ann", {"type": "trigger_save", "trigger": trigger})
    w.send("w", {"type": "check", "typing": False})


def email_reply(w: World) -> None:
    """V answers by email (SES's Lambda event): the reply's address is V's dialog's signed one."""
    from chalicelib.mail import inbound, mirror, tokens
    from chalicelib.shared.config import settings
    from infra.local.mail_inlet import ses_event

    address = f"{tokens.reply_local_part(mirror.site_key('demo'), w.ids['dialog'])}@{settings.inbound_domain}"
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Jane <jane@example.com>", address, "Re: your question"
    mail["Message-ID"] = f"<{secrets.token_hex(8)}@example.com>"
    mail.set_content(f"Size M, please.\n\nOn Mon, Ann wrote:\n> {ORIGINAL}\n")
    ses_id = secrets.token_hex(16)
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=settings.data_bucket, Key=f"inbound/{ses_id}",
                                                           Body=mail.as_bytes())
    assert inbound.handle(ses_event(ses_id, [address], "jane@example.com", mail.as_bytes()), ENDPOINT)["posted"] == 1


TAG = ann_sends({"type": "tag_add", "dialog_id": "{dialog}", "tag": "vip"})
CARD_EDIT = ann_sends({"type": "visitor_update", "visitor_id": "{v}", "name": "Jane Doe"})
EMAIL_IN_CHAT = v1_says("Please write to jane@example.com, thanks")
CLOSE = ann_sends({"type": "close", "dialog_id": "{dialog}"})
TRANSFER = ann_sends({"type": "transfer", "dialog_id": "{dialog}", "operator_id": None, "comment": COMMENT})
TEMPLATE = ann_sends({"type": "template_save", "shortcut": "ship", "text": "We ship in 2 days."})
SETTINGS = ann_sends({"type": "settings_save", "settings": {"popups_per_session": 2}})
INVITE = ann_sends({"type": "invite", "visitor_id": "{v}", "text": "Can I help?"})
TRACK = sends("v1", {"type": "track", "name": "added_to_cart", "props": {"value": 12}})
IDENTIFY = sends("v1", {"type": "identify", "email": "jane@example.com", "source": "page"})
RATE = sends("v1", {"type": "rate", "dialog_id": "{dialog}", "score": "good"})

# (frame type, action, who gets a frame of that type) -- ids say what the action is.
ROWS: list[Any] = [
    pytest.param("message", v1_says("Do you ship to Oslo?"), OPERATORS | V_TABS, id="message-visitor-writes"),
    pytest.param("message", op_says("Yes, in 2 days."), OPERATORS | V_TABS, id="message-operator-replies"),
    pytest.param("message", op_says(NOTE, note=True), OPERATORS, id="message-note"),
    pytest.param("message", TRANSFER, OPERATORS, id="message-transfer-note"),
    pytest.param("message", email_reply, OPERATORS | V_TABS, id="message-visitor-replies-by-email"),
    pytest.param("message", sends("w", {"type": "message", "client_id": "cid-w-00000001", "text": W_TEXT}),
                 OPERATORS | {"w"}, id="message-other-visitor-writes"),
    pytest.param("ack", v1_says("Do you ship to Oslo?"), {"v1"}, id="ack-visitor-writes"),
    pytest.param("ack", op_says("Yes, in 2 days."), {"ann"}, id="ack-operator-replies"),
    pytest.param("ack", op_says(NOTE, note=True), {"ann"}, id="ack-note"),
    pytest.param("typing", sends("v1", {"type": "typing", "text": "Do you"}), OPERATORS, id="typing-visitor"),
    pytest.param("typing", ann_sends({"type": "typing", "dialog_id": "{dialog}"}), V_TABS, id="typing-operator"),
    pytest.param("dialog", TAG, OPERATORS, id="dialog-tag-added"),
    pytest.param("dialog", CLOSE, OPERATORS, id="dialog-closed"),
    pytest.param("dialog", RATE, OPERATORS, id="dialog-visitor-rates"),
    pytest.param("dialog", assign_to_ann, OPERATORS, id="dialog-assigned"),
    pytest.param("visitor", CARD_EDIT, OPERATORS, id="visitor-card-edited"),
    pytest.param("visitor", ann_sends({"type": "visitor", "visitor_id": "{v}"}), {"ann"}, id="visitor-card-read"),
    pytest.param("visitor", EMAIL_IN_CHAT, OPERATORS, id="visitor-email-written-in-chat"),
    pytest.param("email", EMAIL_IN_CHAT, V_TABS, id="email-written-in-chat"),
    pytest.param("dialog", EMAIL_IN_CHAT, OPERATORS, id="dialog-email-written-in-chat"),
    pytest.param("live", EMAIL_IN_CHAT, OPERATORS, id="live-email-written-in-chat"),
    pytest.param("email", IDENTIFY, V_TABS, id="email-identify"),
    pytest.param("identified", IDENTIFY, {"v1"}, id="identified"),
    pytest.param("closed", CLOSE, V_TABS, id="closed-dialog-closed"),
    pytest.param("team", CLOSE, OPERATORS, id="team-dialog-closed"),
    pytest.param("pong", sends("v1", {"type": "ping"}), {"v1"}, id="pong-visitor"),
    pytest.param("pong", sends("ann", {"type": "ping"}), {"ann"}, id="pong-operator"),
    pytest.param("error", sends("v1", {"type": "no_such_frame"}), {"v1"}, id="error-unknown-type"),
    pytest.param("error", sends("w", {"type": "rate", "dialog_id": "{dialog}", "score": "bad"}), {"w"},
                 id="error-other-visitor-rates-vs-dialog"),
    pytest.param("error", sends("olga", {"type": "history", "dialog_id": "{dialog}"}), {"olga"},
                 id="error-other-site-reads-vs-dialog"),
    pytest.param("error", sends("olga", {"type": "message", "dialog_id": "{dialog}", "client_id": "cid-olga-0001",
                                         "text": "hi"}), {"olga"}, id="error-other-site-writes-vs-dialog"),
    pytest.param("team", sends("ann", {"type": "presence", "status": "away"}), OPERATORS, id="team-presence-demo"),
    pytest.param("team", sends("olga", {"type": "presence", "status": "away"}), {"olga"}, id="team-presence-other"),
    pytest.param("history", ann_sends({"type": "history", "dialog_id": "{dialog}"}), {"ann"}, id="history-operator"),
    pytest.param("history", sends("v1", {"type": "resume", "after_seq": 0}), {"v1"}, id="history-visitor-resume"),
    pytest.param("availability", sends("v1", {"type": "availability"}), {"v1"}, id="availability"),
    pytest.param("templates", TEMPLATE, OPERATORS, id="templates-saved"),
    pytest.param("proactive", SETTINGS, OPERATORS, id="proactive-settings-saved"),
    pytest.param("proactive", sends("ann", {"type": "proactive"}), {"ann"}, id="proactive-read"),
    pytest.param("live", page_view, OPERATORS, id="live-page-view"),
    pytest.param("live", TRACK, OPERATORS, id="live-event"),
    pytest.param("monitor", sends("ann", {"type": "monitor"}), {"ann"}, id="monitor-read"),
    pytest.param("left", w_leaves, OPERATORS, id="left-last-tab-closed"),
    pytest.param("greeting", INVITE, V_TABS, id="greeting-invitation"),
    pytest.param("greeted", INVITE, OPERATORS, id="greeted-invitation"),
    pytest.param("invited", INVITE, {"ann"}, id="invited"),
    pytest.param("check_in", check_in, {"w"}, id="check_in"),
    pytest.param("rated", RATE, {"v1"}, id="rated"),
    pytest.param("queue", sends("v1", {"type": "queue"}), {"v1"}, id="queue-asked"),
    pytest.param("queue", assign_to_ann, V_TABS, id="queue-pushed-on-assign"),
    pytest.param("queue", TRANSFER, V_TABS, id="queue-pushed-on-transfer"),
    pytest.param("upload", sends("v1", {"type": "upload", "client_id": "cid-up-00000001", "name": "a.png",
                                        "size": 10, "content_type": "image/png"}), {"v1"}, id="upload"),
    pytest.param("workspace", sends("ann", {"type": "workspace"}), {"ann"}, id="workspace"),
    pytest.param("dialogs", sends("ann", {"type": "subscribe"}), {"ann"}, id="dialogs"),
    pytest.param("visitor_events", ann_sends({"type": "visitor_events", "visitor_id": "{v}"}), {"ann"},
                 id="visitor_events"),
]


# --- checks -----------------------------------------------------------------------------------

def _walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in a frame, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


def _messages(frame: dict[str, Any]) -> list[dict[str, Any]]:
    return ([frame["message"]] if "message" in frame and isinstance(frame["message"], dict) else []) + \
        list(frame.get("messages") or [])


def assert_nothing_leaked(world: World) -> None:
    for name in VISITOR_CONNS:
        for frame in world.seen.get(name, []):
            text = json.dumps(frame)
            assert frame["type"] not in OPERATOR_ONLY, (name, frame)
            assert not OPERATOR_KEYS & {key for key, _ in _walk(frame)}, (name, frame)
            assert not any("email" in m for m in _messages(frame)), (name, frame)
            assert NOTE not in text and COMMENT not in text and ORIGINAL not in text, (name, frame)
    strangers = {"olga": {world.ids["v"], world.ids["w"], world.ids["dialog"], W_TEXT},
                 "w": {world.ids["v"], world.ids["dialog"]}, "v1": {world.ids["w"], W_TEXT},
                 "v2": {world.ids["w"], W_TEXT}}
    for name, secrets_of_others in strangers.items():
        for frame in world.seen.get(name, []):
            text = json.dumps(frame)
            assert not [s for s in secrets_of_others if s in text], (name, frame)


@pytest.mark.parametrize(("frame_type", "action", "expected"), ROWS)
def test_who_hears_the_frame(chat: MotoChat, monkeypatch: pytest.MonkeyPatch, frame_type: str, action: Action,
                             expected: set[str]) -> None:
    world = setup_world(chat, monkeypatch)
    world.read()
    action(world)
    got = world.read()
    heard = {name for name, frames in got.items() if any(f["type"] == frame_type for f in frames)}
    assert heard == expected, {name: [f["type"] for f in frames] for name, frames in got.items()}
    assert_nothing_leaked(world)
