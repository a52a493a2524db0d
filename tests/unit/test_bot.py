import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.routing import bot
from chalicelib.routing.bot import BotState, Faq, best_answer, decide, from_doc, is_thanks, to_doc, wants_human

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SHIPPING = Faq("t_ship", "shipping",
               "We ship within 1 working day. Delivery takes 2-4 days in Germany and 5-8 days to "
               "the rest of Europe, {visitor.name}.",
               "delivery, shipping time, how long, postage, courier, arrive")
RETURNS = Faq("t_ret", "returns",
              "You can return anything within 30 days for a full refund. Use the prepaid label in "
              "the parcel.", "refund, send back, exchange, money back")
HOURS = Faq("t_hours", "hours",
            "Our shop in Leipzig is open Monday to Friday 9:00-18:00 and Saturday 10:00-14:00.",
            "opening hours, open, closed, weekend, store")
PAYMENT = Faq("t_pay", "payment", "We accept Visa, Mastercard, PayPal, Klarna and bank transfer.",
              "pay, card, credit card, invoice, apple pay")
TRACKING = Faq("t_track", "tracking",
               "You'll get an email with a tracking link as soon as your order ships. Track it any "
               "time under My account > Orders.", "where is my order, track, status, parcel")
SIZES = Faq("t_size", "sizes",
            "Our shirts run true to size. See the size chart on each product page; if unsure, "
            "pick the larger size.", "size chart, fit, small, large, measurements")
SHOP = [SHIPPING, RETURNS, HOURS, PAYMENT, TRACKING, SIZES]

ZH = [Faq("z_ship", "发货", "我们会在24小时内发货，国内快递一般3到5天送达。", "发货 快递 配送 多久 运费"),
      Faq("z_ret", "退货", "收到商品7天内可以无理由退货退款，请保留原包装。", "退货 退款 换货"),
      Faq("z_pay", "付款", "我们支持支付宝、微信支付和银行卡付款。", "支付 付款 支付宝 微信")]
JA = [Faq("j_ship", "配送", "ご注文から2〜4営業日でお届けします。送料は全国一律500円です。", "配送 送料 お届け 発送"),
      Faq("j_ret", "返品", "商品到着後14日以内であれば返品・交換を承ります。", "返品 交換 返金"),
      Faq("j_pay", "支払い", "クレジットカード、コンビニ払い、PayPayがご利用いただけます。",
          "支払い クレジットカード 決済")]


def answer_to(question, faqs=SHOP):
    found = best_answer(question, faqs)
    return found[0].template_id if found else None


def after_answer(faq, misses=0):
    """The state right after the bot answered with `faq`."""
    return BotState(misses=misses, answered=(faq.template_id,), awaiting_feedback=True)


# --- matching ---------------------------------------------------------------------------------

@pytest.mark.parametrize("question, expected", [
    ("how long does delivery to Norway take?", "t_ship"),
    ("how much is postage?", "t_ship"),
    ("is it shipped?", "t_ship"),
    ("can I send it back?", "t_ret"),
    ("I want a refund", "t_ret"),
    ("do you take PayPal", "t_pay"),
    ("can I pay by invoice?", "t_pay"),
    ("when are you open on saturday", "t_hours"),
    ("Is the store open on Sunday?", "t_hours"),
    ("what time do you close", "t_hours"),  # close ~ closed
    ("where is my parcel?", "t_track"),
    ("how do I track my order", "t_track"),
    ("what size should I get", "t_size"),
    ("Do the shirts fit small?", "t_size"),
    ("DO THE SHIRTS FIT SMALL", "t_size"),
])
def test_answers_questions_phrased_unlike_the_faq(question, expected):
    assert answer_to(question) == expected


@pytest.mark.parametrize("question", [
    "is the blue mug dishwasher safe?",
    "What is the price of the blue mug?",
    "Do you have gift cards?",  # "card" alone does not make it a payment question
    "Can I pick up in person?",
    "My order arrived broken, what now?",
    "do you ship to Norway, and is the mug dishwasher safe and microwave safe?",
    "Wie lange dauert der Versand?",  # no German FAQ to answer with
    "Hi", "", "   ", "???", "12345", "the a is do you I",
])
def test_no_answer_for_unrelated_questions(question):
    assert best_answer(question, SHOP) is None


def test_no_answer_when_two_faqs_fit_equally():
    assert answer_to("refund or delivery?") is None
    twin = Faq("t_pay2", "payment-methods", PAYMENT.text, PAYMENT.keywords)
    assert answer_to("do you take PayPal", SHOP + [twin]) is None


def test_a_clearly_better_faq_wins_over_a_weaker_one():
    # "parcel" is in tracking's keywords and only in returns' text
    assert answer_to("parcel") == "t_track"


PRIVACY = Faq("t_priv", "privacy",
              "We store your name, email address and order history only to process orders and "
              "answer your questions. We never sell data to third parties. Payment data is handled "
              "by our payment provider and never stored on our servers. You can ask us to export "
              "or delete your data at any time; we reply within 30 days. Analytics cookies are only "
              "set with your consent, and you can unsubscribe from the newsletter with one click.",
              "data protection, gdpr, cookies, delete my data")


def test_a_word_mentioned_in_passing_in_a_long_answer_is_not_enough():
    assert answer_to("newsletter?", SHOP + [PRIVACY]) is None
    assert answer_to("how do I unsubscribe from the newsletter", SHOP + [PRIVACY]) == "t_priv"
    assert answer_to("do you use cookies", SHOP + [PRIVACY]) == "t_priv"
    assert answer_to("can you delete my data?", SHOP + [PRIVACY]) == "t_priv"


def test_answer_comes_with_a_positive_score():
    faq, score = best_answer("do you take PayPal", SHOP)
    assert faq is PAYMENT and score >= bot.MIN_SCORE


def test_a_site_with_one_faq_still_gets_answers():
    assert answer_to("do you take PayPal", [PAYMENT]) == "t_pay"
    assert answer_to("is the blue mug dishwasher safe?", [PAYMENT]) is None


def test_no_faqs_no_answer():
    assert best_answer("do you take PayPal", []) is None


def test_placeholders_are_not_words():
    welcome = Faq("t_hi", "welcome", "Hello {visitor.name}, your order {order.id} is on its way.")
    assert best_answer("what is my visitor name?", [welcome, PAYMENT]) is None
    assert best_answer("order id", [Faq("t_x", "x", "{order.id}")]) is None
    assert answer_to("is my order on its way?", [welcome, PAYMENT]) == "t_hi"


@pytest.mark.parametrize("question, expected", [
    ("你们发货需要多久？", "z_ship"),
    ("可以退货吗", "z_ret"),
    ("能用支付宝付款吗？", "z_pay"),
    ("这个杯子可以放洗碗机吗", None),
    ("杯子可以放洗碗机吗，发货要多久", None),  # mostly about something else
])
def test_chinese_questions(question, expected):
    assert answer_to(question, ZH) == expected


@pytest.mark.parametrize("question, expected", [
    ("送料はいくらですか？", "j_ship"),
    ("返品できますか", "j_ret"),
    ("PayPayで払えますか", "j_pay"),
    ("このマグは食洗機に対応していますか", None),
])
def test_japanese_questions(question, expected):
    assert answer_to(question, JA) == expected


def test_cjk_question_does_not_match_an_english_faq_set():
    assert best_answer("你们发货需要多久？", SHOP) is None


def test_only_the_first_2000_characters_of_a_question_are_read():
    padding = "- " * 1000  # 2000 characters
    assert answer_to(padding[:-10] + "paypal") == "t_pay"
    assert answer_to(padding + "paypal") is None
    assert wants_human(padding[:-10] + "human") and not wants_human(padding + "human")


def test_only_the_first_200_faqs_are_searched():
    fillers = [Faq(f"t_{i}", f"filler{i}", f"Answer number {i} about widget{i}.")
               for i in range(250)]
    assert answer_to("do you take PayPal", fillers[:199] + [PAYMENT]) == "t_pay"
    assert answer_to("do you take PayPal", fillers[:200] + [PAYMENT]) is None


def test_huge_faq_text_is_matched_only_at_its_start():
    long_faq = Faq("t_long", "terms", "legal " * 2000 + "paypal")
    assert best_answer("paypal", [long_faq]) is None


# --- asking for a person, thanks -----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "person", "Can I talk to someone?", "real person please", "live agent", "OPERATOR",
    "are you a bot? I want a human", "I want to speak to a human", "you're not a bot, right?",
    "Ich möchte mit einem Mitarbeiter sprechen", "einen Menschen bitte",
    "quiero hablar con una persona", "¿hay un agente?", "un humano por favor",
    "позовите оператора", "хочу поговорить с живым человеком",
    "オペレーターをお願いします", "担当者と話したい", "人間と話したい",
    "转人工", "我要找客服", "真人",
])
def test_wants_human(text):
    assert wants_human(text)


@pytest.mark.parametrize("text", [
    "personal", "Do you offer personalised engraving?", "is my personal data safe?",
    "Is this a reagent?", "Can I pick it up in person?", "price per person",
    "do you have an agency in Oslo?", "是人工皮革吗？", "人工知能", "do you take PayPal", "",
])
def test_does_not_mistake_ordinary_words_for_asking_for_a_person(text):
    assert not wants_human(text)


@pytest.mark.parametrize("text", [
    "thanks", "Thank you!", "thx", "great", "Perfect, that helps", "got it", "ok thanks",
    "thanks, no more questions", "danke schön", "¡Gracias!", "спасибо", "ありがとうございます", "谢谢",
])
def test_is_thanks(text):
    assert is_thanks(text)


@pytest.mark.parametrize("text", [
    "no thanks, that's not it", "thanks but that doesn't answer my question",
    "Thanks, but what about Norway?", "thanks! and how do I pay?", "not really helpful",
    "Danke, aber das hilft nicht", "gracias, pero no", "спасибо, но это не то",
    "谢谢，但是这没回答我的问题", "ありがとう、でも違います", "That is not what I asked", "no", "",
])
def test_is_not_thanks(text):
    assert not is_thanks(text)


# --- decide -----------------------------------------------------------------------------------

def test_first_answer_introduces_the_bot():
    step = decide(BotState(), "how long does delivery to Norway take?", SHOP)
    assert step.kind == "answer" and step.faq is SHIPPING and step.score > 0
    intro, answer = step.text.split("\n\n")
    assert "automatic assistant" in intro and wants_human(intro)
    assert answer == SHIPPING.text  # placeholders left for the caller
    assert step.state == BotState(misses=0, answered=("t_ship",), awaiting_feedback=True)


def test_later_answers_have_no_intro():
    thanked = decide(after_answer(SHIPPING), "great, thanks", SHOP)
    step = decide(thanked.state, "do you take PayPal", SHOP)
    assert step.kind == "answer" and step.text == PAYMENT.text
    assert step.state.answered == ("t_ship", "t_pay")


@pytest.mark.parametrize("language, question, faqs, word", [
    ("de-AT", "do you take PayPal", SHOP, "automatische"),
    ("es", "do you take PayPal", SHOP, "automático"),
    ("ru-RU", "do you take PayPal", SHOP, "автоматический"),
    ("ja", "送料はいくらですか？", JA, "自動"),
    ("zh-Hans-CN", "你们发货需要多久？", ZH, "自动"),
    ("fr", "do you take PayPal", SHOP, "automatic assistant"),  # no French text: English
    ("", "do you take PayPal", SHOP, "automatic assistant"),
])
def test_intro_in_the_visitors_language(language, question, faqs, word):
    step = decide(BotState(), question, faqs, language)
    assert step.kind == "answer"
    intro = step.text.split("\n\n")[0]
    assert word in intro and wants_human(intro)  # the word it suggests works


@pytest.mark.parametrize("text", ["person", "Mitarbeiter bitte", "persona", "оператор", "担当者",
                                  "转人工"])
def test_hands_off_when_asked_for_a_person(text):
    for state in (BotState(), after_answer(SHIPPING, misses=1)):
        step = decide(state, text, SHOP)
        assert step.kind == "handoff" and step.reason == "asked for a person"
        assert step.state.misses == state.misses and not step.state.awaiting_feedback
        assert "person" in step.text


def test_asking_for_a_person_wins_over_a_matching_faq():
    step = decide(BotState(), "do you take PayPal or should I ask a real person?", SHOP)
    assert step.kind == "handoff" and step.reason == "asked for a person"


def test_hands_off_without_a_confident_answer():
    step = decide(BotState(), "is the blue mug dishwasher safe?", SHOP, "de")
    assert step.kind == "handoff" and step.reason == "no confident answer"
    assert step.text.startswith("Ich übergebe Sie") and step.faq is None
    assert step.state == BotState()


def test_hands_off_after_two_unhelpful_answers():
    first = decide(BotState(), "how long does delivery take?", SHOP)
    second = decide(first.state, "I meant, can I send it back?", SHOP)
    assert second.kind == "answer" and second.faq is RETURNS
    assert second.state.misses == 1
    third = decide(second.state, "that's still not what I asked", SHOP)
    assert third.kind == "handoff" and third.reason == "answers did not help"
    assert third.state.misses == 2


def test_second_miss_hands_off_even_when_a_faq_would_fit():
    step = decide(after_answer(SHIPPING, misses=1), "do you take PayPal", SHOP)
    assert step.kind == "handoff" and step.reason == "answers did not help"


def test_thanks_after_an_answer():
    step = decide(after_answer(SHIPPING, misses=1), "Perfect, thank you!", SHOP)
    assert step.kind == "thanks" and step.text == "Glad I could help! Anything else?"
    assert step.state == BotState(misses=1, answered=("t_ship",), awaiting_feedback=False)
    russian = decide(after_answer(SHIPPING), "спасибо", SHOP, "ru")
    assert russian.kind == "thanks" and russian.text == "Рад был помочь! Что-нибудь ещё?"


def test_no_thanks_counts_as_a_miss():
    step = decide(after_answer(SHIPPING), "no thanks, that's not it", SHOP)
    assert step.kind == "handoff" and step.reason == "no confident answer"
    assert step.state.misses == 1


def test_thanks_with_a_new_question_answers_it_without_a_miss():
    step = decide(after_answer(SHIPPING), "thanks! and how do I pay, by invoice?", SHOP)
    assert step.kind == "answer" and step.faq is PAYMENT and step.state.misses == 0


def test_thanks_again_after_anything_else_is_not_handed_off():
    thanked = decide(after_answer(SHIPPING), "great, thanks", SHOP)
    again = decide(thanked.state, "thank you, that's all", SHOP)
    assert again.kind == "thanks" and again.state == thanked.state


def test_thanks_as_a_first_message_is_no_answer():
    assert decide(BotState(), "thanks", SHOP).kind == "handoff"


def test_never_the_same_faq_twice_in_a_row():
    # after thanks, the visitor asks what was just answered: a miss, then the next best FAQ
    thanked = BotState(answered=("t_ship",))
    step = decide(thanked, "is it shipped?", SHOP)
    assert step.kind == "answer" and step.faq is TRACKING and step.state.misses == 1
    step = decide(thanked, "how long does delivery to Norway take?", SHOP)
    assert step.kind == "handoff" and step.reason == "no confident answer"
    assert step.state.misses == 1


def test_repeating_a_question_right_after_its_answer_is_one_miss():
    step = decide(after_answer(SHIPPING), "how long does delivery take?", SHOP)
    assert step.kind == "handoff" and step.reason == "no confident answer"
    assert step.state.misses == 1


def test_repeating_an_answered_question_with_a_miss_already_hands_off():
    step = decide(BotState(misses=1, answered=("t_ship",)), "how long does delivery take?", SHOP)
    assert step.kind == "handoff" and step.reason == "answers did not help"
    assert step.state.misses == 2


def test_the_same_faq_may_come_back_later():
    state = BotState(answered=("t_ship", "t_pay"))
    assert decide(state, "how long does delivery take?", SHOP).faq is SHIPPING


def test_answered_history_is_capped():
    state = BotState(answered=tuple(f"t_{i}" for i in range(bot.MAX_ANSWERED)))
    step = decide(state, "do you take PayPal", SHOP)
    assert len(step.state.answered) == bot.MAX_ANSWERED and step.state.answered[-1] == "t_pay"


# --- storage ----------------------------------------------------------------------------------

def test_state_round_trips_through_json():
    state = BotState(misses=1, answered=("t_ship", "t_pay"), awaiting_feedback=True)
    doc = to_doc(state)
    assert json.loads(doc) == {"misses": 1, "answered": ["t_ship", "t_pay"],
                               "awaiting_feedback": True}
    assert from_doc(doc) == state


@pytest.mark.parametrize("doc, expected", [
    (None, BotState()), ("", BotState()), ("not json", BotState()), ("[]", BotState()),
    ("null", BotState()), ("[" * 100_000, BotState()), ('{"misses": "2"}', BotState()),
    ('{"misses": -3}', BotState()), ('{"misses": true}', BotState()),
    ('{"answered": "t_ship"}', BotState()),
    ('{"answered": [1, "t_ship", null], "misses": 1}', BotState(misses=1, answered=("t_ship",))),
    ('{"awaiting_feedback": "yes"}', BotState()),
])
def test_from_doc_tolerates_bad_documents(doc, expected):
    assert from_doc(doc) == expected


# --- properties -------------------------------------------------------------------------------

states = st.builds(BotState, misses=st.integers(0, 5),
                   answered=st.lists(st.sampled_from([f.template_id for f in SHOP]),
                                     max_size=4).map(tuple),
                   awaiting_feedback=st.booleans())


SHOP_WORDS = ["paypal", "delivery", "refund", "open", "size", "track", "order", "thanks", "but",
              "no", "person", "personal", "?", "谢谢", "发货", "{visitor.name}", "great", "not"]
texts = st.one_of(st.text(max_size=300),
                  st.lists(st.sampled_from(SHOP_WORDS), max_size=8).map(" ".join))


@FAST
@given(state=states, text=texts,
       language=st.sampled_from(["en", "de", "ja", "xx", ""]))
def test_decide_never_raises_and_never_forgets_a_miss(state, text, language):
    step = decide(state, text, SHOP, language)
    assert step.kind in {"answer", "handoff", "thanks"} and step.text
    assert state.misses <= step.state.misses <= state.misses + 1
    if step.kind == "answer":
        assert step.faq is not None
        assert step.state.answered == state.answered + (step.faq.template_id,)
        assert not state.answered or step.faq.template_id != state.answered[-1]
    else:
        assert step.state.answered == state.answered and not step.state.awaiting_feedback


@FAST
@given(state=st.builds(BotState, misses=st.integers(0, 10**6),
                       answered=st.lists(st.text(), max_size=bot.MAX_ANSWERED).map(tuple),
                       awaiting_feedback=st.booleans()))
def test_any_state_round_trips(state):
    assert from_doc(to_doc(state)) == state
