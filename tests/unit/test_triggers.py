from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.shared.errors import Invalid
from chalicelib.site import blocks as block_rules
from chalicelib.site import placeholders, triggers
from chalicelib.site import settings as site_settings
from chalicelib.site.blocks import Block, check_block
from chalicelib.site.conditions import All, Leaf, Profile
from chalicelib.site.settings import Settings, check_settings
from chalicelib.site.triggers import EmailAction, MessageAction, Restraint, Trigger, check_trigger

NOW = 1_700_000_000_000
OPERATORS = {"o_ann", "o_bob"}
PRICING = {"all": [{"field": "url", "op": "contains", "value": "/pricing"},
                   {"field": "time_on_page", "op": "gte", "value": 20}]}


def trigger_json(**changes):
    doc = {"name": "Pricing help", "enabled": True, "match": PRICING,
           "action": {"kind": "message", "text": "Hi {visitor.name|there}! Questions about our plans?",
                      "sender": {"kind": "site"}, "open_desktop": True, "open_mobile": False},
           "holdout_percent": 10}
    return doc | changes


def check(doc, **kwargs):
    return check_trigger(doc, **({"trigger_id": "t_1", "created_at": NOW, "operator_ids": OPERATORS} | kwargs))


def refused(call, *args, **kwargs):
    with pytest.raises(Invalid) as error:
        call(*args, **kwargs)
    return error.value.message


# --- triggers ---------------------------------------------------------------------------------

def test_the_documented_trigger_is_accepted_and_round_trips():
    trigger = check(trigger_json())
    assert trigger.trigger_id == "t_1" and trigger.created_at == NOW and trigger.holdout_percent == 10
    assert trigger.action == MessageAction("Hi {visitor.name|there}! Questions about our plans?", "site", None, True, False)
    doc = triggers.trigger_doc(trigger)
    assert doc == trigger_json() | {"trigger_id": "t_1", "created_at": NOW}
    assert check(doc, trigger_id="t_1", created_at=NOW) == trigger


def test_trigger_defaults_and_server_keys():
    doc = {"name": "  Pricing\n help ", "match": {"all": []}, "action": {"kind": "message", "text": " Hi "},
           "trigger_id": "t_other", "created_at": 5, "stats": {}}
    trigger = check(doc)
    assert (trigger.trigger_id, trigger.created_at, trigger.name, trigger.enabled) == ("t_1", NOW, "Pricing help", True)
    assert trigger.action == MessageAction("Hi", "site", None, True, False)
    assert trigger.holdout_percent == 0


def test_an_operator_sender_must_be_an_operator_of_the_site():
    action = trigger_json()["action"] | {"sender": {"kind": "operator", "operator_id": "o_ann"}}
    trigger = check(trigger_json(action=action))
    assert (trigger.action.sender_kind, trigger.action.operator_id) == ("operator", "o_ann")
    assert check(triggers.trigger_doc(trigger)) == trigger
    action["sender"]["operator_id"] = "o_gone"
    assert refused(check, trigger_json(action=action)).startswith("action.sender.operator_id: ")


def test_email_actions():
    action = {"kind": "email", "subject": "Your  cart,\n{visitor.name|friend}", "text": "Still thinking?",
              "delay_minutes": 60}
    trigger = check(trigger_json(action=action))
    assert trigger.action == EmailAction("Your cart, {visitor.name|friend}", "Still thinking?", 60)
    assert check(triggers.trigger_doc(trigger)) == trigger
    for delay in (0, 10081, 1.5, True, "60"):
        assert refused(check, trigger_json(action=action | {"delay_minutes": delay})).startswith(
            "action.delay_minutes: ")


@pytest.mark.parametrize("changes, path", [
    ({"name": ""}, "name: "),
    ({"name": "x" * 81}, "name: "),
    ({"name": 5}, "name: "),
    ({"enabled": "yes"}, "enabled: "),
    ({"holdout_percent": 101}, "holdout_percent: "),
    ({"holdout_percent": -1}, "holdout_percent: "),
    ({"holdout_percent": True}, "holdout_percent: "),
    ({"match": None}, "match: "),
    ({"match": {"all": [PRICING, {"field": "url", "op": "gt", "value": 1}]}}, "match.all[1].op: "),
    ({"action": None}, "action: "),
    ({"action": {"kind": "popup", "text": "x"}}, "action.kind: "),
    ({"action": {"kind": ["message"], "text": "x"}}, "action.kind: "),
    ({"action": {"kind": "message", "text": ""}}, "action.text: "),
    ({"action": {"kind": "message", "text": "x" * 501}}, "action.text: "),
    ({"action": {"kind": "message", "text": "Hi {visitor.nmae}"}}, "action.text: unknown placeholder {visitor.nmae}"),
    ({"action": {"kind": "message", "text": "x", "open_mobile": 1}}, "action.open_mobile: "),
    ({"action": {"kind": "message", "text": "x", "sender": {"kind": "bot"}}}, "action.sender.kind: "),
    ({"action": {"kind": "message", "text": "x", "sender": "site"}}, "action.sender: "),
    ({"action": {"kind": "message", "text": "x", "subject": "y"}}, "action: unknown key 'subject'"),
    ({"action": {"kind": "email", "subject": "{page.url}", "text": "x"}}, "action.subject: unknown placeholder"),
])
def test_malformed_triggers_are_refused_naming_the_path(changes, path):
    assert refused(check, trigger_json(**changes)).startswith(path)


def test_a_trigger_must_be_an_object():
    assert refused(check, ["not", "a", "trigger"]) == "trigger: must be an object"


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                        st.sampled_from(["name", "match", "action", "kind", "text", "sender", "holdout_percent",
                                         "subject", "delay_minutes", "operator_id"]) | st.text(max_size=3),
                        inner, max_size=5), max_leaves=15))
def test_documents_from_anywhere_are_refused_with_invalid_only(doc):
    for call in (lambda: check(doc), lambda: triggers.check_segment(doc, segment_id="g_1"),
                 lambda: check_block(doc, block_id="b_1", created_at=NOW), lambda: check_settings(doc, Settings())):
        try:
            call()
        except Invalid:
            pass
    site_settings.settings_from_doc(doc if isinstance(doc, dict) else None)


# --- segments ---------------------------------------------------------------------------------

def test_segments_round_trip_and_refuse_time_fields():
    doc = {"name": "From ads", "match": {"field": "utm", "key": "medium", "op": "equals", "value": "cpc"}}
    segment = triggers.check_segment(doc, segment_id="g_1")
    assert segment.match == Leaf("utm", "equals", "cpc", "medium")
    assert triggers.segment_doc(segment) == doc | {"segment_id": "g_1"}
    assert triggers.check_segment(triggers.segment_doc(segment) | {"created_at": NOW}, segment_id="g_1") == segment
    assert refused(triggers.check_segment, {"name": "x", "match": PRICING}, segment_id="g_1").startswith(
        "match.all[1].field: segments cannot use time_on_page")


# --- blocks -----------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, value, stored", [
    ("ip", "203.0.113.7/24", "203.0.113.0/24"),
    ("ip", " 203.0.113.7 ", "203.0.113.7"),
    ("ip", "2001:DB8::1/32", "2001:db8::/32"),
    ("ip", "2001:db8:0:0::1", "2001:db8::1"),
    ("country", "de", "DE"),
    ("visitor", "v_abc-123", "v_abc-123"),
])
def test_blocks_are_normalised_and_round_trip(kind, value, stored):
    block = check_block({"kind": kind, "value": value, "note": " spam "}, block_id="b_1", created_at=NOW)
    assert block == Block("b_1", kind, stored, "spam", NOW)
    doc = block_rules.block_doc(block)
    assert doc == {"block_id": "b_1", "kind": kind, "value": stored, "note": "spam", "created_at": NOW}
    assert check_block(doc | {"created_by": "Ann"}, block_id="b_1", created_at=NOW) == block


def test_rule_blocks_use_the_segment_restrictions():
    rule = {"field": "referrer", "op": "contains", "value": "spam.example"}
    block = check_block({"kind": "rule", "value": rule}, block_id="b_1", created_at=NOW)
    assert block.value == Leaf("referrer", "contains", "spam.example") and block.note == ""
    assert block_rules.block_doc(block)["value"] == rule
    assert refused(check_block, {"kind": "rule", "value": {"field": "time_on_site", "op": "exists"}},
                   block_id="b", created_at=NOW).startswith("value.field: segments cannot use time_on_site")


@pytest.mark.parametrize("doc, path", [
    ({"kind": "ip", "value": "300.1.1.1"}, "value: must be an IP address"),
    ({"kind": "ip", "value": "10.0.0.0/33"}, "value: must be an IP address"),
    ({"kind": "ip", "value": 167772160}, "value: must be an IP address"),
    ({"kind": "country", "value": "DEU"}, "value: must be a two-letter"),
    ({"kind": "country", "value": "1A"}, "value: must be a two-letter"),
    ({"kind": "visitor", "value": "v 1"}, "value: must be a visitor id"),
    ({"kind": "visitor", "value": "v" * 65}, "value: must be a visitor id"),
    ({"kind": "email", "value": "x"}, "kind: must be one of visitor, ip, country, rule"),
    ({"kind": "visitor", "value": "v_1", "note": "x" * 201}, "note: "),
    ({"kind": "visitor", "value": "v_1", "note": 5}, "note: "),
])
def test_malformed_blocks_are_refused(doc, path):
    assert refused(check_block, doc, block_id="b_1", created_at=NOW).startswith(path)


def block(kind, value):
    return check_block({"kind": kind, "value": value}, block_id=f"b_{kind}", created_at=NOW)


def test_blocked_by_matches_visitors_addresses_countries_and_rules():
    profile = Profile(now_ms=NOW, country="DE", referrer="https://spam.example/")
    blocks = [block("visitor", "v_bad"), block("ip", "203.0.113.0/24"), block("ip", "2001:db8::/32")]
    assert block_rules.blocked_by(blocks, "v_bad", "198.51.100.1", Profile(now_ms=NOW)).kind == "visitor"
    assert block_rules.blocked_by(blocks, "v_ok", "203.0.113.99", Profile(now_ms=NOW)).value == "203.0.113.0/24"
    assert block_rules.blocked_by(blocks, "v_ok", "::ffff:203.0.113.5", Profile(now_ms=NOW)).value == "203.0.113.0/24"
    assert block_rules.blocked_by(blocks, "v_ok", "2001:db8::42", Profile(now_ms=NOW)).value == "2001:db8::/32"
    assert block_rules.blocked_by(blocks, "v_ok", "198.51.100.1", profile) is None
    assert block_rules.blocked_by(blocks, "", "", Profile(now_ms=NOW)) is None
    assert block_rules.blocked_by(blocks + [block("country", "de")], "v_ok", "not an ip", profile).kind == "country"
    rule = check_block({"kind": "rule", "value": {"field": "referrer", "op": "contains", "value": "spam"}},
                       block_id="b_rule", created_at=NOW)
    assert block_rules.blocked_by([rule], "v_ok", "", profile) is rule
    assert block_rules.blocked_by([rule], "v_ok", "", Profile(now_ms=NOW)) is None


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_blocked_by_never_raises_on_odd_addresses(ip):
    blocks = [block("ip", "0.0.0.0/0"), block("ip", "::/0")]
    found = block_rules.blocked_by(blocks, "v", ip, Profile(now_ms=NOW))
    assert found is None or found.kind == "ip"


# --- settings ---------------------------------------------------------------------------------

def test_settings_change_only_the_keys_sent():
    current = Settings(popups_per_session=2)
    changed = check_settings({"timezone": "Europe/Berlin", "cooldown_minutes": 0}, current)
    assert changed == Settings(timezone="Europe/Berlin", popups_per_session=2, cooldown_minutes=0)
    assert check_settings({}, current) == current


def test_hours_are_stored_for_every_day():
    changed = check_settings({"hours": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "sat": []}}, Settings())
    assert changed.hours["mon"] == (("09:00", "12:00"), ("13:00", "18:00"))
    assert changed.hours["sun"] == () and set(changed.hours) == set(site_settings.DAYS)
    assert check_settings({"hours": None}, changed).hours is None
    assert check_settings({"hours": {"fri": [["18:00", "24:00"]]}}, Settings()).hours["fri"] == (("18:00", "24:00"),)


@pytest.mark.parametrize("changes, path", [
    ({"colour": "red"}, "'colour': unknown setting"),
    ({"language": "fr"}, "language: "),
    ({"timezone": "Mars/Phobos"}, "timezone: "),
    ({"timezone": "../../etc/passwd"}, "timezone: "),
    ({"timezone": 3}, "timezone: "),
    ({"hours": {"monday": []}}, "hours: 'monday' is not a day"),
    ({"hours": ["09:00"]}, "hours: must be an object"),
    ({"hours": {"mon": "09:00-18:00"}}, "hours.mon: "),
    ({"hours": {"mon": [["09:00", "18:00"]] * 5}}, "hours.mon: "),
    ({"hours": {"tue": [["18:00", "09:00"]]}}, "hours.tue[0]: "),
    ({"hours": {"tue": [["09:00", "09:00"]]}}, "hours.tue[0]: "),
    ({"hours": {"tue": [["9:00", "18:00"]]}}, "hours.tue[0]: "),
    ({"hours": {"tue": [["09:00", "24:30"]]}}, "hours.tue[0]: "),
    ({"hours": {"tue": [["09:00"]]}}, "hours.tue[0]: "),
    ({"goal_event": "bad name"}, "goal_event: "),
    ({"capture_emails": "yes"}, "capture_emails: "),
    ({"popups_per_session": 0}, "popups_per_session: "),
    ({"popups_per_session": 4}, "popups_per_session: "),
    ({"cooldown_minutes": -1}, "cooldown_minutes: "),
    ({"cooldown_minutes": 10081}, "cooldown_minutes: "),
])
def test_malformed_settings_are_refused(changes, path):
    assert refused(check_settings, changes, Settings()).startswith(path)


def test_settings_documents_round_trip_and_read_tolerantly():
    s = check_settings({"language": "de", "timezone": "America/New_York", "hours": {"mon": [["09:00", "17:00"]]},
                        "goal_event": "signup", "capture_emails": False, "popups_per_session": 3,
                        "cooldown_minutes": 30}, Settings())
    doc = site_settings.settings_doc(s)
    assert doc["hours"]["mon"] == [["09:00", "17:00"]] and doc["hours"]["sun"] == []
    assert site_settings.settings_from_doc(doc) == s
    assert check_settings(doc, Settings()) == s
    assert site_settings.settings_from_doc(None) == Settings()
    assert site_settings.settings_from_doc({"popups_per_session": 9, "timezone": "Nowhere", "old": 1,
                                       "cooldown_minutes": Decimal("15")}) == Settings(cooldown_minutes=15)
    assert site_settings.settings_doc(Settings())["hours"] is None


def ms(year, month, day, hour, minute, zone):
    return int(datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).timestamp() * 1000)


def test_within_hours_uses_the_site_time_zone():
    s = check_settings({"timezone": "Europe/Berlin", "hours": {"mon": [["09:00", "18:00"]]}}, Settings())
    assert site_settings.within_hours(Settings(), NOW)
    assert site_settings.within_hours(s, ms(2025, 3, 31, 9, 0, "Europe/Berlin"))  # a Monday, summer time
    assert site_settings.within_hours(s, ms(2025, 3, 31, 17, 59, "Europe/Berlin"))
    assert not site_settings.within_hours(s, ms(2025, 3, 31, 18, 0, "Europe/Berlin"))
    assert not site_settings.within_hours(s, ms(2025, 3, 31, 8, 59, "Europe/Berlin"))
    assert site_settings.within_hours(s, ms(2025, 3, 31, 7, 30, "UTC"))  # 09:30 in Berlin
    assert not site_settings.within_hours(s, ms(2025, 3, 31, 6, 30, "UTC"))  # 08:30 in Berlin
    assert not site_settings.within_hours(s, ms(2025, 4, 1, 10, 0, "Europe/Berlin"))  # Tuesday: closed
    late = check_settings({"hours": {"fri": [["18:00", "24:00"]]}}, Settings())
    assert site_settings.within_hours(late, ms(2025, 4, 4, 23, 59, "UTC"))
    assert not site_settings.within_hours(late, ms(2025, 4, 5, 0, 0, "UTC"))
    assert not site_settings.within_hours(s, 10 ** 30)


# --- placeholders -----------------------------------------------------------------------------

def test_render_fills_placeholders_with_fallbacks():
    text = "Hi {visitor.name|there}! {page.title} — {site.name}. Code {SAVE10}, {foo.bar}, {operator.name}"
    values = {"visitor.name": "Ann", "page.title": "Pricing", "site.name": "Shop", "operator.name": None}
    assert placeholders.render(text, values) == "Hi Ann! Pricing — Shop. Code {SAVE10}, {foo.bar}, "
    assert placeholders.render("Hi {visitor.name|there}!", {"visitor.name": "  "}) == "Hi there!"
    assert placeholders.render("Hi {visitor.name|there}!", {}) == "Hi there!"
    assert placeholders.render("Hi { visitor.name | there }!", {}) == "Hi there!"
    assert placeholders.render("{visitor.email}", {}) == ""


def test_check_placeholders_refuses_unknown_ones_only():
    placeholders.check_placeholders("Hi {visitor.name|there}, {visitor.email} {page.title} {site.name} {operator.name}", "p")
    placeholders.check_placeholders("Use code {SAVE10} or {} or {", "p")
    assert refused(placeholders.check_placeholders, "Hi {visitor.phone}", "action.text") == (
        "action.text: unknown placeholder {visitor.phone}; use one of {visitor.name}, {visitor.email}, "
        "{page.title}, {site.name}, {operator.name}")


# --- restraint --------------------------------------------------------------------------------

def message_trigger(trigger_id, match, created_at, *, enabled=True):
    return Trigger(trigger_id, trigger_id, enabled, match, MessageAction("Hi"), 0, created_at)


def email_trigger(trigger_id, match, created_at=1):
    return Trigger(trigger_id, trigger_id, True, match, EmailAction("Hello", "Still there?", 60), 0, created_at)


ON_PRICING = Leaf("url", "contains", "/pricing")
AFTER_20S = Leaf("time_on_page", "gte", 20)
PROFILE = Profile(now_ms=NOW, page_started_ms=NOW - 5000, url="https://x/pricing")
FREE = Restraint(Settings())


def test_the_first_matching_trigger_by_creation_wins():
    later, earlier = message_trigger("t_b", ON_PRICING, 2), message_trigger("t_a", ON_PRICING, 1)
    assert triggers.eligible_greeting([later, earlier], PROFILE, FREE) is earlier
    assert triggers.eligible_greeting([later, earlier], PROFILE, Restraint(Settings(), fired=frozenset({"t_a"}))) is later
    off = message_trigger("t_0", ON_PRICING, 0, enabled=False)
    assert triggers.eligible_greeting([off, later], PROFILE, FREE) is later
    assert triggers.eligible_greeting([email_trigger("t_e", All()), later], PROFILE, FREE) is later
    assert triggers.eligible_greeting([message_trigger("t_c", AFTER_20S, 0)], PROFILE, FREE) is None
    assert triggers.eligible_greeting([], PROFILE, FREE) is None


@pytest.mark.parametrize("restraint, profile", [
    (Restraint(Settings(), popups_used=1), PROFILE),
    (Restraint(Settings(popups_per_session=2), popups_used=2), PROFILE),
    (Restraint(Settings(), last_popup_ms=NOW - 240 * 60_000 + 1), PROFILE),
    (Restraint(Settings(), typing=True), PROFILE),
    (Restraint(Settings(), in_dialog=True), PROFILE),
    (FREE, Profile(**{**PROFILE.__dict__, "working_hours": False})),
])
def test_restraint_holds_greetings_back(restraint, profile):
    assert triggers.eligible_greeting([message_trigger("t_a", ON_PRICING, 1)], profile, restraint) is None


def test_restraint_lets_greetings_through_after_the_cooldown_and_within_the_slots():
    trigger = message_trigger("t_a", ON_PRICING, 1)
    cooled = Restraint(Settings(popups_per_session=2), popups_used=1, last_popup_ms=NOW - 240 * 60_000)
    assert triggers.eligible_greeting([trigger], PROFILE, cooled) is trigger


def test_next_check_names_the_time_a_pending_trigger_may_fire():
    timed = message_trigger("t_a", All((ON_PRICING, AFTER_20S)), 1)
    assert triggers.next_check_ms([timed], PROFILE, FREE) == 15_000
    assert triggers.next_check_ms([timed], PROFILE, Restraint(Settings(), typing=True)) == 15_000
    assert triggers.next_check_ms([timed], PROFILE, Restraint(Settings(), fired=frozenset({"t_a"}))) is None
    assert triggers.next_check_ms([timed], PROFILE, Restraint(Settings(), popups_used=1)) is None
    assert triggers.next_check_ms([timed], PROFILE, Restraint(Settings(), in_dialog=True)) is None
    off_hours = Profile(**{**PROFILE.__dict__, "working_hours": False})
    assert triggers.next_check_ms([timed], off_hours, FREE) is None
    cooling = Restraint(Settings(cooldown_minutes=1), last_popup_ms=NOW - 30_000, popups_used=0)
    assert triggers.next_check_ms([timed], PROFILE, cooling) == 30_000
    assert triggers.next_check_ms([message_trigger("t_b", ON_PRICING, 2)], PROFILE, cooling) == 30_000
    assert triggers.next_check_ms([message_trigger("t_b", ON_PRICING, 2)], PROFILE, FREE) is None  # fires now
    assert triggers.next_check_ms([timed, message_trigger("t_c", Leaf("time_on_page", "gte", 10), 2)],
                                  PROFILE, FREE) == 5000
    assert triggers.next_check_ms([timed], PROFILE, Restraint(Settings(), last_popup_ms=NOW)) is None  # 4 h away
    assert triggers.next_check_ms([email_trigger("t_e", AFTER_20S)], PROFILE, FREE) is None


def test_email_followups_are_the_enabled_email_triggers_that_hold():
    profile = Profile(**{**PROFILE.__dict__, "email": "ann@example.com"})
    cart = email_trigger("t_cart", ON_PRICING, 2)
    assert triggers.email_followups([cart, email_trigger("t_x", Leaf("visits", "gt", 5)),
                                     message_trigger("t_m", ON_PRICING, 1)], profile) == [cart]
    assert triggers.email_followups([cart], PROFILE) == []  # no email known


def test_held_out():
    assert not triggers.held_out(0, 0.0)
    assert triggers.held_out(10, 0.0999) and not triggers.held_out(10, 0.1)
    assert triggers.held_out(50, 0.4999) and not triggers.held_out(50, 0.5)
