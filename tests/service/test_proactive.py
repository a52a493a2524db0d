"""Tracking, segments, triggers, the schedule and blocking, through app.py's handlers on moto."""
from __future__ import annotations

import pytest

from tests.moto_chat import SHOP
from tests.service.test_chat import msg, of_type, operator

PRICING = {"url": "https://shop.example/pricing?utm_source=newsletter&utm_medium=email", "title": "Pricing",
           "referrer": "https://www.google.com/search?q=best+tea+mugs"}
ENDPOINT = "https://abc123.execute-api.us-east-1.amazonaws.com/test"


class Clock:
    """Moves every module's `now_ms` (they import it by name) by hand."""

    MODULES = ("http.sessions", "proactive.live", "proactive.greetings", "chat.opening", "chat.visitor", "socket",
               "dialogs.posting", "workspace.desk", "proactive.editor")

    def __init__(self, monkeypatch) -> None:
        import importlib
        import time

        self.ms = int(time.time() * 1000)
        for name in self.MODULES:
            monkeypatch.setattr(importlib.import_module(f"chalicelib.{name}"), "now_ms", lambda: self.ms)

    def advance(self, seconds: float) -> None:
        self.ms += int(seconds * 1000)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def arrive(chat, page=PRICING, token=None, headers=None, source_ip="127.0.0.1"):
    """A page view (the session POST) and its websocket, resumed as the widget does."""
    session = chat.visitor_token(token=token, page=page, headers=headers, source_ip=source_ip)
    assert session["status"] == 200, session
    status, tab = chat.connect(session["body"]["token"], SHOP, source_ip=source_ip)
    assert status == 200
    frames = chat.send(tab, {"type": "resume", "after_seq": 0})
    return session["body"], tab, frames


def save(chat, op, kind, doc):
    frames = chat.send(op, {"type": f"{kind}_save" if kind != "block" else "block_add", kind: doc})
    errors = of_type(frames, "error")
    assert not errors, errors
    return of_type(frames, "proactive")[-1]


def greeting_trigger(**overrides):
    doc = {"name": "Pricing help", "enabled": True, "holdout_percent": 0,
           "match": {"all": [{"field": "url", "op": "contains", "value": "/pricing"},
                             {"field": "time_on_page", "op": "gte", "value": 20}]},
           "action": {"kind": "message", "text": "Hi {visitor.name|there}! Questions about {page.title}?",
                      "sender": {"kind": "site"}, "open_desktop": True, "open_mobile": False}}
    return doc | overrides


def stats(chat, op):
    view = of_type(chat.send(op, {"type": "proactive"}), "proactive")[-1]
    return next(iter(view["stats"].values()))


# --- tracking ---------------------------------------------------------------------------------

def test_a_page_view_records_source_utm_search_language_and_country(chat):
    _, op = operator(chat)
    session, _, _ = arrive(chat, headers={"accept-language": "de-DE,de;q=0.9", "cloudfront-viewer-country": "de"})
    card = of_type(chat.send(op, {"type": "visitor", "visitor_id": session["visitor_id"]}), "visitor")[0]["visitor"]
    assert card["utm"] == {"source": "newsletter", "medium": "email"}
    assert card["search_query"] == "best tea mugs"
    assert card["first_referrer"].startswith("https://www.google.com/")
    assert card["language"] == "de-DE" and card["country"] == "DE"
    assert card["visits"] == 1 and card["session_started"]


def test_a_page_view_costs_two_writes_and_a_new_visit_starts_after_30_minutes(chat, clock):
    from infra.local.metrics import Metrics, install_botocore_counter

    session, _, _ = arrive(chat)
    metrics = Metrics()
    install_botocore_counter(metrics)
    chat.visitor_token(token=session["token"], page={"url": "https://shop.example/mug.html", "title": "Mug"})
    writes = {op: n for op, n in metrics.snapshot()["ddb_by_operation"].items()
              if op in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")}
    assert sum(writes.values()) == 2, writes
    clock.advance(31 * 60)
    chat.visitor_token(token=session["token"], page={"url": "https://shop.example/", "title": "Home"})
    _, op = operator(chat)
    card = of_type(chat.send(op, {"type": "visitor", "visitor_id": session["visitor_id"]}), "visitor")[0]["visitor"]
    assert card["visits"] == 2
    assert card["utm"] == {}  # the new visit came without a campaign


def test_custom_events_and_segments_follow_the_data(chat):
    _, op = operator(chat)
    save(chat, op, "segment", {"name": "Big cart", "match": {"all": [
        {"field": "event", "key": "added_to_cart.value", "op": "gt", "value": 100}]}})
    session, tab, _ = arrive(chat)
    chat.send(tab, msg("hello", "cid-seg-0001"))
    chat.send(tab, {"type": "track", "name": "added_to_cart", "props": {"value": 120, "sku": "mug"}})
    card = of_type(chat.send(op, {"type": "visitor", "visitor_id": session["visitor_id"]}), "visitor")[0]["visitor"]
    assert [s["name"] for s in card["segments"]] == ["Big cart"]
    assert card["events"]["added_to_cart"]["props"] == {"value": 120, "sku": "mug"}
    segment_id = card["segments"][0]["segment_id"]
    listed = of_type(chat.send(op, {"type": "subscribe", "segment": segment_id}), "dialogs")[0]["dialogs"]
    assert [d["visitor_id"] for d in listed] == [session["visitor_id"]]
    chat.send(tab, {"type": "track", "name": "added_to_cart", "props": {"value": 20}})
    listed = of_type(chat.send(op, {"type": "subscribe", "segment": segment_id}), "dialogs")[0]["dialogs"]
    assert listed == []


def test_a_new_visitors_first_page_view_already_has_its_segments(chat):
    from chalicelib.storage import visitor_store

    _, op = operator(chat)
    save(chat, op, "segment", {"name": "Pricing", "match": {"all": [
        {"field": "url", "op": "contains", "value": "/pricing"}]}})
    session, _, _ = arrive(chat)
    assert len(visitor_store.get_visitor(session["visitor_id"]).segments or ()) == 1
    live = of_type(chat.send(op, {"type": "monitor"}), "monitor")[0]["visitors"]
    assert [v["segments"] for v in live if v["visitor_id"] == session["visitor_id"]][0]


def test_a_page_view_racing_the_last_tab_closing_keeps_the_visitor_live(chat, monkeypatch):
    """The tab closes and, between the disconnect's read and its write, the next page loads:
    the visitor must stay in the monitor (and the schedule's index)."""
    from chalicelib.storage import visitor_store

    _, op = operator(chat)
    session, tab, _ = arrive(chat)
    real, raced = visitor_store.get_visitor, []

    def read_then_next_page_loads(visitor_id):
        stale = real(visitor_id)
        if not raced:
            raced.append(visitor_id)
            arrive(chat, token=session["token"])  # the next page's session and socket
        return stale

    monkeypatch.setattr(visitor_store, "get_visitor", read_then_next_page_loads)
    chat.disconnect(tab)
    monkeypatch.undo()
    assert raced
    assert visitor_store.get_visitor(session["visitor_id"]).live_site == "demo"
    assert session["visitor_id"] in [v["visitor_id"] for v in
                                     of_type(chat.send(op, {"type": "monitor"}), "monitor")[0]["visitors"]]


def test_an_email_written_in_the_chat_goes_onto_the_card_at_once(chat):
    _, op = operator(chat)
    session, tab, _ = arrive(chat)
    frames_before = chat.frames(op)
    chat.send(tab, msg("please write to Jane.Doe@Example.com, thanks", "cid-mail-0001"))
    pushed = of_type(chat.frames(op), "visitor")
    assert pushed and pushed[-1]["visitor"]["email"] == "jane.doe@example.com", frames_before


def test_identify_verifies_the_hash_and_never_lets_unverified_data_overwrite(chat):
    from chalicelib.visitors import tracking

    _, op = operator(chat)
    good = tracking.identity_hash(tracking.site_secret("demo"), "42")
    session, tab, _ = arrive(chat)
    refused = chat.send(tab, {"type": "identify", "id": "42", "hash": "0" * 64})
    assert of_type(refused, "error")[0]["code"] == "invalid"
    answer = of_type(chat.send(tab, {"type": "identify", "id": "42", "hash": good, "email": "ann@shop.example"}),
                     "identified")[0]
    assert answer == {"type": "identified", "verified": True}
    chat.send(tab, {"type": "identify", "email": "intruder@evil.example", "source": "page"})
    card = of_type(chat.send(op, {"type": "visitor", "visitor_id": session["visitor_id"]}), "visitor")[0]["visitor"]
    assert card["email"] == "ann@shop.example" and card["external_id"] == "42" and card["verified"]
    # The same shop user on another browser is pointed to their verified profile.
    _, other_tab, _ = arrive(chat)
    switch = of_type(chat.send(other_tab, {"type": "identify", "id": "42", "hash": good}), "identified")[0]
    assert switch["visitor_id"] == session["visitor_id"] and switch["token"]


# --- triggers ---------------------------------------------------------------------------------

def test_a_time_condition_is_checked_in_and_greets_once_per_session(chat, clock):
    _, op = operator(chat)
    save(chat, op, "trigger", greeting_trigger())
    session, tab, frames = arrive(chat)
    assert not of_type(frames, "greeting")
    check_in = of_type(frames, "check_in")[0]
    assert 19_000 < check_in["after_ms"] <= 20_000
    clock.advance(check_in["after_ms"] / 1000)
    greeting = of_type(chat.send(tab, {"type": "check"}), "greeting")[0]
    assert greeting["text"] == "Hi there! Questions about Pricing?"
    assert greeting["author"]["name"] == "Parley Demo Shop" and greeting["open_desktop"] is True
    # A reload, and more pages of the same session: never again.
    clock.advance(60)
    _, tab2, frames = arrive(chat, token=session["token"])
    clock.advance(60)
    assert not of_type(frames + chat.send(tab2, {"type": "check"}), "greeting")
    assert stats(chat, op)["shown"] == 1


def test_restraint_no_greeting_while_typing_or_in_a_dialog(chat, clock):
    _, op = operator(chat)
    save(chat, op, "trigger", greeting_trigger())
    _, tab, _ = arrive(chat)
    clock.advance(25)
    assert not of_type(chat.send(tab, {"type": "check", "typing": True}), "greeting")
    chat.send(tab, msg("I have a question", "cid-dlg-0001"))
    assert not of_type(chat.send(tab, {"type": "check"}), "greeting")
    assert stats(chat, op)["shown"] == 0


def test_outside_working_hours_nobody_is_greeted(chat, clock):
    _, op = operator(chat)
    save(chat, op, "trigger", greeting_trigger(match={"all": [{"field": "url", "op": "contains", "value": "/pricing"}]}))
    closed_all_week = {day: [] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert not of_type(chat.send(op, {"type": "settings_save", "settings": {"hours": closed_all_week}}), "error")
    _, _, frames = arrive(chat)
    assert not of_type(frames, "greeting")


def test_replying_to_a_greeting_starts_the_dialog_with_it_and_counts_acceptance(chat, clock):
    _, op = operator(chat)
    save(chat, op, "trigger", greeting_trigger(match={"all": [{"field": "url", "op": "contains", "value": "/pricing"}]}))
    _, tab, frames = arrive(chat)
    greeting = of_type(frames, "greeting")[0]
    ack = of_type(chat.send(tab, msg("yes, which plan?", "cid-acc-0001", greeting_id=greeting["greeting_id"])), "ack")[0]
    history = of_type(chat.send(op, {"type": "history", "dialog_id": ack["dialog_id"], "after_seq": 0}),
                      "history")[0]["messages"]
    assert [(m["author"]["kind"], m["text"]) for m in history] == [
        ("operator", greeting["text"]), ("visitor", "yes, which plan?")]
    counted = stats(chat, op)
    assert counted["shown"] == 1 and counted["accepted"] == 1 and counted["acceptance"] == 1.0


def test_a_held_out_session_sees_nothing_and_its_goal_counts_for_the_held_group(chat, monkeypatch):
    from chalicelib.proactive import greetings

    monkeypatch.setattr(greetings.random, "random", lambda: 0.01)  # inside any holdout
    _, op = operator(chat)
    save(chat, op, "trigger", greeting_trigger(holdout_percent=10, match={"all": [
        {"field": "url", "op": "contains", "value": "/pricing"}]}))
    _, tab, frames = arrive(chat)
    assert not of_type(frames, "greeting")
    chat.send(tab, {"type": "track", "name": "purchase", "props": {"value": 30}})
    chat.send(tab, {"type": "track", "name": "purchase", "props": {"value": 30}})  # once per session
    counted = stats(chat, op)
    assert (counted["shown"], counted["held_out"], counted["goal_held"], counted["goal_shown"]) == (0, 1, 1, 0)


def test_the_live_path_and_the_schedule_racing_greet_once(chat, clock, monkeypatch):
    """Both paths read the session's greetings before either writes (the race), then both
    claim: the conditional write lets one through, and the other reads again and stops."""
    from chalicelib.proactive import greetings
    from chalicelib.realtime.delivery import Outbox
    from chalicelib.site import siteconfig
    from chalicelib.storage import greeting_store, visitor_store

    _, op = operator(chat)
    save(chat, op, "trigger", greeting_trigger())
    session, tab, _ = arrive(chat)
    clock.advance(30)
    visitor = visitor_store.get_visitor(session["visitor_id"])
    setup = siteconfig.load_site("demo")
    real_read, stale_reads = greeting_store.session_greetings, [[], []]
    monkeypatch.setattr(greeting_store, "session_greetings",
                        lambda *args: stale_reads.pop() if stale_reads else real_read(*args))
    outbox = Outbox(ENDPOINT)
    live = greetings.evaluate(setup, visitor, False, clock.ms, outbox, reply_to=tab)
    scheduled = greetings.evaluate(setup, visitor, False, clock.ms, outbox)
    outbox.send()
    assert live is not None and scheduled is None
    assert stats(chat, op)["shown"] == 1
    assert len(of_type(chat.frames(tab), "greeting")) == 1


def test_the_schedule_greets_a_connected_visitor_whose_time_has_come(chat, clock):
    from chalicelib.proactive import greetings

    _, op = operator(chat)
    save(chat, op, "trigger", greeting_trigger())
    _, tab, _ = arrive(chat)
    report = greetings.run_schedule(ENDPOINT, clock.ms)
    assert report.greeted == 0 and report.due_visitors == 1
    clock.advance(21)
    assert greetings.run_schedule(ENDPOINT, clock.ms).greeted == 1
    assert of_type(chat.frames(tab), "greeting")
    clock.advance(60)
    assert greetings.run_schedule(ENDPOINT, clock.ms).due_visitors == 0  # nothing left to do for them


def test_the_schedule_reads_only_active_visitors(chat, clock):
    """Doubling the visitors who are not on the site changes nothing the schedule does."""
    from chalicelib.proactive import greetings
    from chalicelib.storage.visitor_store import Visitor
    from infra.local.metrics import Metrics, install_botocore_counter

    _, op = operator(chat)
    save(chat, op, "trigger", greeting_trigger())
    for _ in range(5):
        arrive(chat)

    def requests_with(inactive: int) -> tuple[int, int]:
        with Visitor.batch_write() as batch:
            for number in range(inactive):
                batch.save(Visitor(f"v_gone{inactive}x{number}", site_id="demo", created_at=clock.ms, version=1,
                                   session_id="s_old", last_seen=clock.ms - 86_400_000))
        metrics = Metrics()
        install_botocore_counter(metrics)
        report = greetings.run_schedule(ENDPOINT, clock.ms)
        return metrics.snapshot()["ddb_calls"], report.due_visitors

    assert requests_with(1000) == requests_with(2000)
    assert requests_with(0)[1] == 5


def test_a_follow_up_email_goes_once_an_hour_after_an_abandoned_cart(chat, clock, monkeypatch):
    import boto3
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    from chalicelib.mail import outbound
    from chalicelib.proactive import greetings
    from chalicelib.shared import config

    # The deployed sender: the inbound domain's support address (the policy test holds every call to it).
    monkeypatch.setattr(outbound, "settings", config.load_settings({"PARLEY_MAIL_FROM": "support@mail.shop.example"}))
    boto3.client("ses", region_name="us-east-1").verify_domain_identity(Domain="mail.shop.example")
    _, op = operator(chat)
    save(chat, op, "trigger", {
        "name": "Cart left", "enabled": True, "holdout_percent": 0,
        "match": {"all": [{"field": "event", "key": "added_to_cart.value", "op": "gt", "value": 100}]},
        "action": {"kind": "email", "subject": "Your cart at {site.name}", "text": "Hi {visitor.name|there}, "
                   "your mug is waiting.", "delay_minutes": 60}})
    _, tab, _ = arrive(chat)
    chat.send(tab, {"type": "identify", "email": "jane@example.com", "name": "Jane"})
    chat.send(tab, {"type": "track", "name": "added_to_cart", "props": {"value": 150}})
    chat.disconnect(tab)
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    clock.advance(30 * 60)
    assert greetings.run_schedule(ENDPOINT, clock.ms).emails_sent == 0 and not sent
    clock.advance(31 * 60)
    assert greetings.run_schedule(ENDPOINT, clock.ms).emails_sent == 1
    assert sent[-1].destinations["ToAddresses"] == ["jane@example.com"]
    assert "Hi Jane, your mug is waiting." in sent[-1].body
    clock.advance(3600)
    assert greetings.run_schedule(ENDPOINT, clock.ms).emails_sent == 0 and len(sent) == 1


# --- the monitor and invitations ----------------------------------------------------------------

def test_the_monitor_shows_who_is_on_the_site_and_an_invitation_reaches_them(chat):
    _, op = operator(chat)
    session, tab, _ = arrive(chat)
    live = of_type(chat.send(op, {"type": "monitor"}), "monitor")[0]["visitors"]
    assert [v["visitor_id"] for v in live] == [session["visitor_id"]]
    assert live[0]["current_page"]["title"] == "Pricing" and live[0]["source"]
    invited = of_type(chat.send(op, {"type": "invite", "visitor_id": session["visitor_id"], "text": "Need a hand?"}),
                      "invited")[0]
    assert invited["delivered"] is True
    greeting = of_type(chat.frames(tab), "greeting")[0]
    assert greeting["text"] == "Need a hand?" and greeting["author"]["name"] == "Ann"
    chat.disconnect(tab)
    assert of_type(chat.frames(op), "left")[0]["visitor_id"] == session["visitor_id"]
    assert of_type(chat.send(op, {"type": "monitor"}), "monitor")[0]["visitors"] == []


def test_an_operator_cannot_invite_or_block_another_sites_visitor(chat):
    session, tab, _ = arrive(chat)
    _, olga = operator(chat, "olga@other.shop", "pw-olga-123")
    refused = chat.send(olga, {"type": "invite", "visitor_id": session["visitor_id"], "text": "hi"})
    assert of_type(refused, "error")[0]["code"] == "not_found"
    assert not of_type(chat.frames(tab), "greeting")


# --- blocking -----------------------------------------------------------------------------------

@pytest.mark.parametrize("block, arrival", [
    ({"kind": "ip", "value": "203.0.113.0/24"}, {"source_ip": "203.0.113.9"}),
    ({"kind": "country", "value": "ru"}, {"headers": {"cloudfront-viewer-country": "RU"}}),
])
def test_a_blocked_address_or_country_gets_no_chat(chat, block, arrival):
    _, op = operator(chat)
    save(chat, op, "block", block)
    refused = chat.visitor_token(page=PRICING, **arrival)
    assert refused["status"] == 403 and refused["body"]["Code"] == "blocked"
    assert chat.visitor_token(page=PRICING)["status"] == 200  # others are fine


def test_blocking_a_visitor_refuses_their_socket_and_unblocking_lets_them_back(chat):
    _, op = operator(chat)
    session, _, _ = arrive(chat)
    view = save(chat, op, "block", {"kind": "visitor", "value": session["visitor_id"], "note": "spam"})
    assert chat.visitor_token(token=session["token"], page=PRICING)["status"] == 403
    assert chat.connect(session["token"], SHOP)[0] == 403
    block_id = view["blocks"][0]["block_id"]
    assert not of_type(chat.send(op, {"type": "block_remove", "block_id": block_id}), "error")
    assert chat.visitor_token(token=session["token"], page=PRICING)["status"] == 200
    assert chat.connect(session["token"], SHOP)[0] == 200


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("match, says", [
    ({"all": [{"field": "time_on_page", "op": "gte", "value": "soon"}]}, "match.all[0].value"),
    ({"all": [{"field": "shoe_size", "op": "gt", "value": 3}]}, "match.all[0].field"),
    ({"both": []}, "match"),
    ({"all": [{"field": "country", "op": "in", "value": "DE"}]}, "match.all[0].value"),
])
def test_a_malformed_rule_is_refused_saying_what_is_wrong(chat, match, says):
    _, op = operator(chat)
    error = of_type(chat.send(op, {"type": "trigger_save", "trigger": greeting_trigger(match=match)}), "error")[0]
    assert error["code"] == "invalid" and says in error["message"], error
    assert of_type(chat.send(op, {"type": "proactive"}), "proactive")[0]["triggers"] == []


def test_a_hostile_url_and_referrer_are_stored_as_given(chat):
    _, op = operator(chat)
    hostile = {"url": "https://shop.example/<img src=x onerror=alert(1)>", "title": "<script>alert(1)</script>",
               "referrer": "https://evil.example/\"><svg onload=alert(2)>"}
    session, _, _ = arrive(chat, page=hostile)
    live = of_type(chat.send(op, {"type": "monitor"}), "monitor")[0]["visitors"][0]
    assert live["current_page"] == {"url": hostile["url"], "title": hostile["title"]}
    card = of_type(chat.send(op, {"type": "visitor", "visitor_id": session["visitor_id"]}), "visitor")[0]["visitor"]
    assert card["first_referrer"] == hostile["referrer"]


@pytest.mark.parametrize("frame", [
    {"type": "track", "name": "bad name!"},
    {"type": "track", "name": "ok", "props": {"k": {"nested": 1}}},
    {"type": "track", "name": "ok", "props": {f"k{n}": n for n in range(21)}},
    {"type": "identify"},
    {"type": "identify", "id": "1", "hash": "nothex"},
])
def test_bad_tracking_frames_get_a_clear_error(chat, frame):
    _, tab, _ = arrive(chat)
    error = of_type(chat.send(tab, frame), "error")[0]
    assert error["code"] == "invalid" and error["message"]
