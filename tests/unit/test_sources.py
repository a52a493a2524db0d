import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.shared import sources


def test_utm_of_reads_the_utm_parameters_without_the_prefix():
    url = "https://shop.example/?utm_source=newsletter&UTM_Medium=email&utm_campaign=spring+sale&x=1#utm_term=no"
    assert sources.utm_of(url) == {"source": "newsletter", "medium": "email", "campaign": "spring sale"}
    assert sources.utm_of("https://shop.example/?utm_source=a&utm_source=b&utm_term=&utm_other=x") == {"source": "a"}
    assert sources.utm_of("https://shop.example/?utm_content=" + "x" * 500)["content"] == "x" * 200
    assert sources.utm_of("https://shop.example/pricing") == {}
    assert sources.utm_of("http://[::1/?utm_source=x") == {}
    assert sources.utm_of("") == {}


@pytest.mark.parametrize("referrer, query", [
    ("https://www.google.com/search?q=live+chat&hl=en", "live chat"),
    ("https://www.google.co.uk/search?q=parley", "parley"),
    ("https://google.de/url?q=widget", "widget"),
    ("https://www.bing.com/search?q=serverless%20chat", "serverless chat"),
    ("https://search.yahoo.com/search?p=chat+widget", "chat widget"),
    ("https://yandex.ru/search/?text=%D1%87%D0%B0%D1%82", "чат"),
    ("https://yandex.com.tr/search/?text=sohbet", "sohbet"),
    ("https://duckduckgo.com/?q=open+source+chat", "open source chat"),
    ("https://www.baidu.com/s?wd=%E8%81%8A%E5%A4%A9", "聊天"),
    ("https://www.baidu.com/s?word=chat", "chat"),
    ("https://www.ecosia.org/search?q=trees", "trees"),
    ("https://search.naver.com/search.naver?query=chat", "chat"),
    ("https://search.seznam.cz/?q=chat", "chat"),
    ("https://www.google.com/", ""),
    ("https://www.google.com/search?q=++", ""),
    ("https://news.ycombinator.com/item?q=not-a-search", ""),
    ("https://google.example.com/?q=lookalike", ""),
    ("not a url", ""),
    ("", ""),
])
def test_search_query_of_knows_the_common_engines(referrer, query):
    assert sources.search_query_of(referrer) == query


def test_search_queries_are_cut_to_200_characters():
    assert sources.search_query_of("https://www.google.com/search?q=" + "a" * 300) == "a" * 200


@pytest.mark.parametrize("referrer, utm, label", [
    ("", {"source": "newsletter", "medium": "email"}, "utm: newsletter / email"),
    ("https://www.google.com/", {"source": "newsletter"}, "utm: newsletter"),
    ("", {"campaign": "spring"}, "utm: spring"),
    ("https://www.google.com/search?q=x", {}, "search: google"),
    ("https://yandex.ru/", {"term": "x"}, "search: yandex"),
    ("https://news.ycombinator.com/item?id=1", {}, "referral: news.ycombinator.com"),
    ("https://www.example.org/post", {}, "referral: example.org"),
    ("", {}, "direct"),
    ("garbage", {}, "direct"),
])
def test_source_of_labels_where_a_session_came_from(referrer, utm, label):
    assert sources.source_of(referrer, utm) == label


@pytest.mark.parametrize("text, email", [
    ("ann@example.com", "ann@example.com"),
    ("Write to: John.Doe+chat@Mail.Example.CO.UK.", "john.doe+chat@mail.example.co.uk"),
    ("<ann@example.com>, bob@example.com", "ann@example.com"),
    ("call me (ann_b@sub-domain.example.io)", "ann_b@sub-domain.example.io"),
    ("v1.2@3.4 then real@example.com", "real@example.com"),
    ("no address here", None),
    ("ann@localhost", None),
    ("ann@-bad-.com", None),
    (".ann@example.com", None),
    ("ann..b@example.com", None),
    ("@example.com", None),
    ("", None),
])
def test_find_email_finds_the_first_plausible_address(text, email):
    assert sources.find_email(text) == email


@pytest.mark.parametrize("text", [
    "a" * 200_000,
    "a" * 100_000 + "@",
    "a@" * 100_000,
    "a@a." * 50_000,
    "a." * 100_000 + "@",
    "a" * 63 + "@" + "a-" * 100_000,
    ("a" * 64 + "@" + "b" * 63 + ".") * 2000,
    "@." * 100_000,
    "+" * 200_000 + "@x",
])
def test_find_email_takes_linear_time_on_adversarial_text(text):
    started = time.perf_counter()
    sources.find_email(text)
    assert time.perf_counter() - started < 0.5


def test_find_email_limits_the_length():
    assert sources.find_email("a" * 64 + "@" + ".".join(["b" * 63] * 3) + ".com") is None  # 261 characters
    assert sources.find_email("a" * 65 + "@example.com") is None


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab.-_+@ .xyzé"), max_size=80) | st.text(max_size=80))
def test_find_email_returns_an_address_from_the_text_or_none(text):
    found = sources.find_email(text)
    assert found is None or (found in text.lower() and len(found) <= 254 and found.count("@") == 1)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_source_functions_never_raise(text):
    assert isinstance(sources.utm_of(text), dict)
    assert len(sources.search_query_of(text)) <= 200
    assert sources.source_of(text, sources.utm_of(text))
    assert isinstance(sources.primary_language(text), str)


@pytest.mark.parametrize("tag, primary", [("de-DE", "de"), ("EN_us", "en"), ("zh-Hant-TW", "zh"), ("fr", "fr"),
                                          ("", ""), ("*", ""), ("12-AB", ""), (" ja ", "ja")])
def test_primary_language(tag, primary):
    assert sources.primary_language(tag) == primary


def test_url_path():
    assert sources.url_path("https://x.example/pricing?plan=pro#top") == "/pricing"
    assert sources.url_path("https://x.example") == "/"
    assert sources.url_path("http://[::1") == "/"
