import json
import math
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.shared.errors import Invalid
from chalicelib.site import conditions as rules
from chalicelib.site.conditions import All, AnyOf, Leaf, Profile, evaluate, parse_condition

NOW = 1_700_000_000_000
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def leaf(field, op, value=None, key=None):
    doc = {"field": field, "op": op}
    if value is not None:
        doc["value"] = value
    if key is not None:
        doc["key"] = key
    return doc


def holds(doc, **profile):
    return evaluate(parse_condition(doc), Profile(now_ms=NOW, **profile))


# --- parsing ----------------------------------------------------------------------------------

def test_the_documented_example_parses_and_goes_back_to_the_same_json():
    doc = {"all": [{"field": "url", "op": "contains", "value": "/pricing"},
                   {"field": "time_on_page", "op": "gte", "value": 20}]}
    cond = parse_condition(doc)
    assert cond == All((Leaf("url", "contains", "/pricing"), Leaf("time_on_page", "gte", 20)))
    assert rules.condition_doc(cond) == doc
    assert rules.fields_used(cond) == {"url", "time_on_page"}


def test_keyed_lists_and_presence_leaves_round_trip():
    doc = {"any": [leaf("utm", "in", ["newsletter", "ads"], key="source"),
                   leaf("event", "exists", key="cart.value"),
                   {"all": []}]}
    cond = parse_condition(doc)
    assert cond.items[0] == Leaf("utm", "in", ("newsletter", "ads"), "source")
    assert rules.condition_doc(cond) == doc


def test_numbers_read_back_from_dynamodb_are_accepted():
    cond = parse_condition(leaf("visits", "gte", Decimal("3")))
    assert cond == Leaf("visits", "gte", 3) and isinstance(cond.value, int)
    assert parse_condition(leaf("visits", "gte", Decimal("2.5"))).value == 2.5


def test_exists_tolerates_a_null_value():
    assert parse_condition({"field": "has_email", "op": "exists", "value": None}) == \
        Leaf("has_email", "exists")


def nest(depth):
    doc = leaf("visits", "gt", 1)
    for _ in range(depth):
        doc = {"all": [doc]}
    return doc


@pytest.mark.parametrize("doc, message", [
    ({"all": [leaf("url", "contains", "x"), leaf("url", "gt", 1)]}, "match.all[1].op: gt does not apply to url"),
    ({"all": [leaf("visits", "gt", "3")]}, "match.all[0].value: must be a number"),
    (leaf("visits", "gt", True), "match.value: must be a number"),
    (leaf("visits", "gt", math.nan), "match.value: must be a number"),
    (leaf("visits", "lt", math.inf), "match.value: must be a number"),
    (leaf("visits", "gt"), "match.value: must be a number"),
    (leaf("nope", "gt", 1), "match.field: 'nope' is not a field"),
    ({"op": "gt", "value": 1}, "match.field: None is not a field"),
    (leaf("url", "like", "x"), "match.op: unknown op 'like'"),
    (leaf("url", "equals", 3), "match.value: must be a string"),
    (leaf("url", "equals", "x" * 501), "match.value: is over 500 characters"),
    (leaf("url", "in", []), "match.value: must be a list of 1 to 100 strings"),
    (leaf("url", "in", "x"), "match.value: must be a list of 1 to 100 strings"),
    (leaf("url", "in", ["x"] * 101), "match.value: must be a list of 1 to 100 strings"),
    (leaf("url", "in", ["x", 2]), "match.value[1]: must be a string"),
    (leaf("url", "exists", "x"), "match.value: exists takes no value"),
    (leaf("has_email", "is", "yes"), "match.value: must be true or false"),
    (leaf("segment", "is", "not an id!"), "match.value: must be a segment id"),
    (leaf("segment", "equals", "g_1"), "match.op: equals does not apply to segment"),
    (leaf("has_email", "equals", "x"), "match.op: equals does not apply to has_email"),
    (leaf("utm", "equals", "x"), "match.key: must be one of source, medium"),
    (leaf("utm", "equals", "x", key="utm_source"), "match.key: must be one of"),
    (leaf("url", "equals", "x", key="k"), "match.key: url takes no key"),
    (leaf("path_views", "gt", 1, key="pricing"), "match.key: must be a page path"),
    (leaf("path_views", "gt", 1, key="/pricing?x=1"), "match.key: must be a page path"),
    (leaf("event", "gt", 1), "match.key: must be an event name"),
    (leaf("event", "gt", 1, key="bad name"), "match.key: must be an event name"),
    ({"field": "url", "op": "equals", "value": "x", "vaule": "y"}, "match: unknown key 'vaule'"),
    ({"all": [], "any": []}, "match: 'all' cannot be combined"),
    ({"all": {"field": "url"}}, "match.all: must be a list"),
    ({"any": [1]}, "match.any[0]: must be a condition object"),
    ("url contains x", "match: must be a condition object"),
    (None, "match: must be a condition object"),
    (nest(5), "match.all[0].all[0].all[0].all[0]: conditions nest at most 4 levels deep"),
    ({"all": [leaf("visits", "gt", i) for i in range(51)]}, "match.all[50]: a rule has at most 50 field tests"),
    ({"any": [{"all": []}] * 100 + [leaf("url", "exists")]}, "match.any: must be a list of at most 100"),
])
def test_malformed_rules_are_refused_naming_the_path(doc, message):
    with pytest.raises(Invalid) as refused:
        parse_condition(doc)
    assert message in refused.value.message


def test_four_levels_and_fifty_leaves_are_allowed():
    assert parse_condition(nest(4))
    assert len(parse_condition({"all": [leaf("visits", "gt", i) for i in range(50)]}).items) == 50


def test_the_path_given_prefixes_messages():
    with pytest.raises(Invalid, match=r"^value\.any\[0\]\.op: "):
        parse_condition({"any": [leaf("url", "gt", 1)]}, path="value")


@pytest.mark.parametrize("name", ["time_on_site", "time_on_page", "working_hours", "operator_available"])
def test_segments_refuse_time_and_presence_fields(name):
    doc = {"all": [leaf("url", "exists"), leaf(name, "exists")]}
    parse_condition(doc)
    with pytest.raises(Invalid) as refused:
        parse_condition(doc, for_segment=True)
    assert refused.value.message.startswith(f"match.all[1].field: segments cannot use {name}")


# --- evaluation ---------------------------------------------------------------------------------

def test_time_on_site_counts_seconds_since_the_session_started():
    doc = leaf("time_on_site", "gte", 20)
    assert holds(doc, session_started_ms=NOW - 20_000)
    assert not holds(doc, session_started_ms=NOW - 19_999)
    assert holds(leaf("time_on_site", "lt", 1.5), session_started_ms=NOW - 1499)
    assert not holds(leaf("time_on_site", "lt", 1.5), session_started_ms=NOW - 1500)


@pytest.mark.parametrize("op", sorted(rules.NUMBER_OPS))
def test_an_unknown_number_makes_every_comparison_false(op):
    assert not holds(leaf("time_on_page", op, 5))
    assert not holds(leaf("time_on_site", op, 5), session_started_ms=None)


def test_exists_tells_an_unknown_number_from_a_known_one():
    assert holds(leaf("time_on_page", "not_exists"))
    assert holds(leaf("time_on_page", "exists"), page_started_ms=NOW)
    assert holds(leaf("visits", "exists"), visits=0)


def test_string_tests_are_case_insensitive():
    url = "https://Shop.example/Pricing/Pro?x=1"
    assert holds(leaf("url", "contains", "/pricing"), url=url)
    assert holds(leaf("url", "starts_with", "HTTPS://shop"), url=url)
    assert holds(leaf("url", "equals", url.lower()), url=url)
    assert holds(leaf("url", "not_contains", "/blog"), url=url)
    assert not holds(leaf("url", "not_equals", url.upper()), url=url)
    assert holds(leaf("url", "in", ["nope", url.upper()]), url=url)
    assert holds(leaf("url", "not_in", ["nope"]), url=url)


def test_glob_has_stars_and_question_marks_but_no_character_classes():
    url = "https://shop.example/pricing/pro"
    assert holds(leaf("url", "glob", "*/PRICING/*"), url=url)
    assert holds(leaf("url", "glob", "https://shop.example/pricing/pr?"), url=url)
    assert not holds(leaf("url", "glob", "*/pricing"), url=url)
    assert holds(leaf("url", "glob", "*/a[b]c"), url="https://x/a[b]c")
    assert not holds(leaf("url", "glob", "*/a[b]c"), url="https://x/abc")


def test_an_unknown_string_compares_as_empty():
    assert holds(leaf("referrer", "equals", ""))
    assert holds(leaf("referrer", "not_contains", "google"))
    assert not holds(leaf("referrer", "contains", "google"))
    assert holds(leaf("referrer", "not_exists"))
    assert holds(leaf("utm", "not_equals", "ads", key="campaign"), utm={"source": "x"})


def test_visited_url_is_any_page_of_the_session():
    pages = {"url": "https://x/checkout", "session_urls": ("https://x/", "https://x/pricing")}
    assert holds(leaf("visited_url", "contains", "/pricing"), **pages)
    assert holds(leaf("visited_url", "contains", "/checkout"), **pages)
    assert not holds(leaf("visited_url", "not_contains", "/pricing"), **pages)
    assert holds(leaf("visited_url", "not_contains", "/blog"), **pages)
    assert holds(leaf("visited_url", "exists"), **pages)
    assert holds(leaf("visited_url", "not_exists"))


def test_path_views_counts_opens_of_a_path_and_an_unopened_path_is_zero():
    views = {"/pricing": 3}
    assert holds(leaf("path_views", "gte", 3, key="/pricing"), path_views=views)
    assert holds(leaf("path_views", "eq", 0, key="/blog"), path_views=views)
    assert holds(leaf("path_views", "exists", key="/pricing"), path_views=views)
    assert holds(leaf("path_views", "not_exists", key="/blog"), path_views=views)


def test_country_unknown_is_a_value_that_does_not_exist():
    assert holds(leaf("country", "equals", "unknown"))
    assert holds(leaf("country", "not_exists"))
    assert holds(leaf("country", "in", ["de", "AT"]), country="DE")
    assert holds(leaf("country", "exists"), country="DE")


def test_language_equals_and_in_match_the_primary_subtag():
    assert holds(leaf("language", "equals", "de"), language="de-DE")
    assert holds(leaf("language", "equals", "DE-de"), language="de-DE")
    assert holds(leaf("language", "in", ["fr", "de"]), language="de-AT")
    assert not holds(leaf("language", "not_equals", "de"), language="de-DE")
    assert not holds(leaf("language", "equals", "de-DE"), language="de")
    assert not holds(leaf("language", "equals", "d"), language="de-DE")


def test_numbers_booleans_and_segments():
    assert holds(leaf("visits", "gt", 2), visits=3)
    assert holds(leaf("visits", "ne", 2), visits=3)
    assert holds(leaf("has_email", "is", True), email="a@b.co")
    assert holds(leaf("has_email", "is", False))
    assert holds(leaf("working_hours", "is", False), working_hours=False)
    assert holds(leaf("operator_available", "is", True), operator_available=True)
    assert holds(leaf("segment", "is", "g_1"), segments=frozenset({"g_1"}))
    assert holds(leaf("segment", "is_not", "g_2"), segments=frozenset({"g_1"}))
    assert holds(leaf("segment", "exists"), segments=frozenset({"g_1"}))
    assert holds(leaf("segment", "not_exists"))


def test_events_count_without_a_property_and_give_the_latest_value_with_one():
    events = {"added_to_cart": {"count": 2, "at": NOW, "props": {"value": 120, "plan": "Pro", "gift": True}},
              "checkout.done": {"count": 1, "at": NOW, "props": {"step": 3}}}
    assert holds(leaf("event", "eq", 2, key="added_to_cart"), events=events)
    assert holds(leaf("event", "eq", 0, key="signup"), events=events)
    assert holds(leaf("event", "not_exists", key="signup"), events=events)
    assert holds(leaf("event", "exists", key="added_to_cart"), events=events)
    assert holds(leaf("event", "gt", 100, key="added_to_cart.value"), events=events)
    assert holds(leaf("event", "equals", "pro", key="added_to_cart.plan"), events=events)
    assert holds(leaf("event", "is", True, key="added_to_cart.gift"), events=events)
    assert not holds(leaf("event", "gt", 1, key="added_to_cart.plan"), events=events)  # not a number
    assert not holds(leaf("event", "lt", 1, key="added_to_cart.missing"), events=events)
    assert holds(leaf("event", "not_exists", key="added_to_cart.missing"), events=events)
    assert holds(leaf("event", "eq", 1, key="checkout.done"), events=events)  # a name with a dot
    assert holds(leaf("event", "eq", 3, key="checkout.done.step"), events=events)


@pytest.mark.parametrize("profile", [
    Profile(now_ms=None, session_started_ms="x", page_started_ms=math.nan, url=None, session_urls=None,
            path_views=None, utm=None, events=None, segments=None, country=None, language=None, visits="3"),
    Profile(now_ms=math.inf, session_started_ms=math.inf, page_started_ms=-math.inf, visits=math.nan,
            path_views={"/": "many"}, events={"e": [1, 2], "f": {"count": "x", "props": [1]},
                                              "g": {"count": Decimal("NaN"), "props": {"v": Decimal("sNaN")}}}),
    Profile(now_ms=10 ** 400, session_started_ms=-(10 ** 400), visits=10 ** 400,
            events={"e": {"count": 10 ** 400, "props": {"v": {"nested": []}}}}),
])
def test_evaluation_never_raises_on_odd_profiles(profile):
    docs = [leaf("time_on_site", "gte", 1), leaf("time_on_page", "ne", 1), leaf("time_on_site", "exists"),
            leaf("url", "contains", "x"), leaf("url", "not_contains", "x"), leaf("visited_url", "glob", "*"),
            leaf("visited_url", "not_in", ["a"]), leaf("path_views", "gt", 0, key="/"),
            leaf("utm", "equals", "x", key="source"), leaf("country", "exists"), leaf("language", "in", ["de"]),
            leaf("visits", "ne", 1), leaf("event", "ne", 0, key="e"), leaf("event", "eq", 1, key="g.v"),
            leaf("event", "ne", 0, key="g"), leaf("event", "is", True, key="f.x"), leaf("segment", "is_not", "g"),
            leaf("event", "equals", "", key="e.v")]
    for doc in docs:
        assert evaluate(parse_condition(doc), profile) in (True, False)
    rules.due_in_ms(parse_condition({"all": docs[:3]}), profile)


def test_a_malformed_leaf_built_in_code_is_false_not_an_error():
    profile = Profile(now_ms=NOW, page_started_ms=NOW)
    assert evaluate(Leaf("time_on_page", "gte", "x" * 10), profile) is False
    assert evaluate(Leaf("nope", "weird", object()), profile) is False
    assert evaluate(AnyOf([Leaf("url", "exists"), Leaf("url", "not_exists")]), profile) is True


# --- time -------------------------------------------------------------------------------------

def test_due_in_ms_says_when_a_time_condition_comes_true():
    cond = parse_condition({"all": [leaf("url", "contains", "/pricing"), leaf("time_on_page", "gte", 20)]})
    profile = Profile(now_ms=NOW, page_started_ms=NOW - 5000, url="https://x/pricing")
    assert rules.due_in_ms(cond, profile) == 15_000
    assert rules.due_in_ms(cond, Profile(now_ms=NOW, page_started_ms=NOW - 25_000, url="https://x/pricing")) == 0
    assert rules.due_in_ms(cond, Profile(now_ms=NOW, page_started_ms=NOW - 5000, url="https://x/blog")) is None
    assert rules.due_in_ms(cond, Profile(now_ms=NOW, url="https://x/pricing")) is None  # page start unknown
    assert rules.due_in_ms(cond, profile, horizon_ms=14_999) is None
    assert rules.due_in_ms(cond, profile, horizon_ms=15_000) == 15_000


def test_due_in_ms_handles_strict_and_fractional_thresholds_and_windows():
    at = Profile(now_ms=NOW, session_started_ms=NOW, page_started_ms=NOW)
    assert rules.due_in_ms(parse_condition(leaf("time_on_site", "gt", 2)), at) == 2001
    assert rules.due_in_ms(parse_condition(leaf("time_on_site", "gte", 1.1)), at) == 1100
    assert rules.due_in_ms(parse_condition(leaf("time_on_site", "eq", 0.25)), at) == 250
    assert rules.due_in_ms(parse_condition(leaf("time_on_site", "eq", 0.2505)), at) is None
    assert rules.due_in_ms(parse_condition(leaf("time_on_site", "lt", 1)), at) == 0
    window = {"all": [leaf("time_on_site", "gte", 30), leaf("time_on_page", "lt", 10)]}
    assert rules.due_in_ms(parse_condition(window), at) is None  # the page window closes first
    either = {"any": [leaf("time_on_site", "gte", 30), leaf("time_on_page", "gte", 10)]}
    assert rules.due_in_ms(parse_condition(either), at) == 10_000
    assert rules.due_in_ms(parse_condition(leaf("time_on_site", "gte", 1e300)), at) is None
    assert rules.due_in_ms(parse_condition(leaf("time_on_site", "gte", 10 ** 30)), at) is None


# --- properties ---------------------------------------------------------------------------------

EVENT_NAMES = ["cart", "a", "a.b", "checkout.done"]
EVENT_KEYS = EVENT_NAMES + ["cart.value", "cart.plan", "a.b.c", "checkout.done.step", "missing", "missing.x"]
PATHS = ["/", "/pricing", "/a/b"]
WORDS = ["", "de", "de-DE", "https://x/pricing", "google", "unknown", "DE", "ü", "*", "?", "["]

texts = st.one_of(st.text(max_size=40), st.sampled_from(WORDS),
                  st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=3), st.integers(1, 3000)))
numbers = st.one_of(st.integers(), st.integers(-10 ** 40, 10 ** 40), st.floats(), st.sampled_from([0, 1, 2, 20_000]))
json_ish = st.recursive(st.none() | st.booleans() | numbers | texts,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                        max_leaves=6)
event_entries = st.one_of(
    st.fixed_dictionaries({"count": st.one_of(st.integers(0, 50), numbers, json_ish), "at": numbers,
                           "props": st.one_of(st.dictionaries(st.sampled_from(["value", "plan", "step", "c"]) | st.text(max_size=5),
                                                              json_ish, max_size=4), json_ish)}),
    json_ish)
times = st.one_of(st.none(), st.integers(NOW - 10 ** 7, NOW + 1000), st.integers(), st.floats())

profiles = st.builds(
    Profile,
    now_ms=st.one_of(st.just(NOW), st.integers(), st.floats()),
    session_started_ms=times, page_started_ms=times,
    url=texts, session_urls=st.lists(texts, max_size=4).map(tuple),
    path_views=st.dictionaries(st.sampled_from(PATHS) | st.text(max_size=5), st.one_of(st.integers(0, 9), json_ish), max_size=4),
    referrer=texts, first_referrer=texts,
    utm=st.dictionaries(st.sampled_from(rules.UTM_KEYS), texts, max_size=5),
    search_query=texts, country=texts, device=texts, browser=texts, os=texts, language=texts,
    visits=st.one_of(st.integers(0, 10), numbers),
    email=st.one_of(st.none(), texts),
    segments=st.frozensets(st.sampled_from(["g_1", "g_2"]) | st.text(max_size=5), max_size=3),
    events=st.dictionaries(st.sampled_from(EVENT_NAMES) | st.text(max_size=8), event_entries, max_size=4),
    working_hours=st.booleans(), operator_available=st.booleans(),
)

KEYS = {"path_views": st.sampled_from(PATHS), "utm": st.sampled_from(rules.UTM_KEYS),
        "event": st.sampled_from(EVENT_KEYS)}
short_texts = st.one_of(st.text(max_size=20), st.sampled_from(WORDS))


def values_for(kind, op):
    if op in rules.PRESENCE_OPS:
        return st.none()
    if op in rules.NUMBER_OPS:
        return st.one_of(st.integers(-10, 30), st.integers(-10 ** 20, 10 ** 20), st.floats(allow_nan=False, allow_infinity=False))
    if op in rules.STRING_OPS:
        return short_texts
    if op in rules.LIST_OPS:
        return st.lists(short_texts, min_size=1, max_size=4).map(tuple)
    if kind == rules.SEGMENT:
        return st.sampled_from(["g_1", "g_2", "g-3"])
    return st.booleans()


def leaves_of(name):
    kind = rules.FIELDS[name]
    key = KEYS.get(name, st.none())
    return st.sampled_from(sorted(rules.OPS[kind])).flatmap(
        lambda op: st.builds(Leaf, st.just(name), st.just(op), values_for(kind, op), key))


def count_leaves(cond):
    return sum(1 for _ in rules._leaves(cond))


def conditions(depth=rules.MAX_DEPTH, for_segment=False):
    names = [n for n in rules.FIELDS if not (for_segment and n in rules.NOT_FOR_SEGMENTS)]
    leaf_ = st.sampled_from(names).flatmap(leaves_of)
    if depth == 0:
        return leaf_
    inner = conditions(depth - 1, for_segment)
    return st.one_of(leaf_, st.lists(inner, max_size=3).map(All), st.lists(inner, max_size=3).map(AnyOf))


valid_conditions = conditions().filter(lambda c: count_leaves(c) <= rules.MAX_LEAVES)


@FAST
@given(valid_conditions, profiles)
def test_evaluate_never_raises_and_is_a_bool(cond, profile):
    assert evaluate(cond, profile) in (True, False)


@FAST
@given(st.lists(conditions(depth=2), max_size=5), profiles)
def test_all_and_any_compose(items, profile):
    results = [evaluate(item, profile) for item in items]
    assert evaluate(All(items), profile) == all(results)
    assert evaluate(AnyOf(items), profile) == any(results)
    assert evaluate(All([]), profile) is True and evaluate(AnyOf([]), profile) is False


@FAST
@given(valid_conditions)
def test_parse_condition_inverts_condition_doc(cond):
    doc = rules.condition_doc(cond)
    assert parse_condition(doc) == cond
    assert parse_condition(json.loads(json.dumps(doc))) == cond


@FAST
@given(conditions(for_segment=True).filter(lambda c: count_leaves(c) <= rules.MAX_LEAVES))
def test_segment_conditions_parse_for_segments(cond):
    assert parse_condition(rules.condition_doc(cond), for_segment=True) == cond


VOCAB = sorted(rules.FIELDS) + sorted(rules.ALL_OPS) + ["all", "any", "field", "op", "value", "key"]
json_docs = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=10) | st.sampled_from(VOCAB),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(["all", "any", "field", "op", "value", "key"]) | st.text(max_size=4), inner, max_size=4),
    max_leaves=20)
leafy_docs = st.fixed_dictionaries(
    {"field": st.sampled_from(sorted(rules.FIELDS)), "op": st.sampled_from(sorted(rules.ALL_OPS))},
    optional={"value": json_docs, "key": st.sampled_from(EVENT_KEYS + PATHS + list(rules.UTM_KEYS)) | json_docs})


@FAST
@given(st.one_of(json_docs, leafy_docs, st.lists(leafy_docs | json_docs, max_size=6).map(lambda xs: {"any": xs})),
       st.booleans())
def test_parse_condition_refuses_anything_else_with_invalid_only(doc, for_segment):
    try:
        cond = parse_condition(doc, for_segment=for_segment)
    except Invalid as refused:
        assert refused.message.startswith("match")
    else:
        assert parse_condition(rules.condition_doc(cond), for_segment=for_segment) == cond


# Conditions that only time can make true: thresholds near the present, a small horizon, so
# a scan of every millisecond checks due_in_ms exactly.
HORIZON = 2500
thresholds = st.one_of(st.integers(0, 3), st.sampled_from([0.5, 1.25, 0.0015, 2.0005, 1.9999, 0.001]))
time_leaves = st.builds(Leaf, st.sampled_from(sorted(rules.TIME_FIELDS)), st.sampled_from(sorted(rules.NUMBER_OPS)),
                        thresholds)
steady_leaves = st.sampled_from([Leaf("url", "contains", "pricing"), Leaf("visits", "gt", 1)])
time_conditions = st.recursive(time_leaves | steady_leaves,
                               lambda inner: st.lists(inner, max_size=3).map(All) | st.lists(inner, max_size=3).map(AnyOf),
                               max_leaves=6)
time_profiles = st.builds(Profile, now_ms=st.just(NOW),
                          session_started_ms=st.one_of(st.none(), st.integers(NOW - 3000, NOW)),
                          page_started_ms=st.one_of(st.none(), st.integers(NOW - 3000, NOW)),
                          url=st.sampled_from(["https://x/pricing", "https://x/"]), visits=st.integers(0, 2))


def at(profile, delay):
    return Profile(**{**profile.__dict__, "now_ms": profile.now_ms + delay})


@settings(max_examples=60, deadline=None)
@given(time_conditions, time_profiles)
def test_due_in_ms_is_the_first_instant_the_condition_holds(cond, profile):
    expected = next((d for d in range(HORIZON + 1) if evaluate(cond, at(profile, d))), None)
    assert rules.due_in_ms(cond, profile, HORIZON) == expected


@FAST
@given(time_conditions, time_profiles.map(lambda p: at(p, -10 ** 6)))
def test_when_due_in_ms_names_a_delay_the_condition_holds_then_and_not_a_moment_before(cond, profile):
    delay = rules.due_in_ms(cond, profile)
    if delay:
        assert evaluate(cond, at(profile, delay))
        assert not evaluate(cond, at(profile, delay - 1))
