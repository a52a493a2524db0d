"""The site's first-line bot: answers typical visitor questions from the reply templates marked
as FAQ, says it is a bot, and hands the dialog to a person when it has no confident answer, when
the visitor asks for one, or after two unhelpful answers. Pure: standard library only, no I/O."""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Container, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple

from chalicelib.shared.sources import primary_language

MAX_QUESTION = 2000  # characters of a question that are read
MAX_FAQS = 200
MAX_FAQ_TEXT = 4096  # characters of an answer that are matched (templates hold 4096 bytes)
MAX_ANSWERED = 50  # template ids kept in the state
MISSES_TO_HAND_OFF = 2

# Confidence (see tests/unit/test_bot.py for the cases they were tuned on).
MIN_SCORE = 1.5  # about one distinctive term shared with the answer text
MIN_COVERAGE = 0.5  # at least half of the question (by idf weight) is in the FAQ
AMBIGUOUS_RATIO = 0.8  # a runner-up this close to the best: cannot tell them apart
_K1, _B = 1.2, 0.75
_MIN_DOCS = 10  # idf as if the site had at least this many FAQs: a site with 2 FAQs
# would otherwise give every shared word a near-zero weight
_LABEL_WEIGHT = 2  # shortcut and keywords are the owner's words for matching: count them twice

ASKED_FOR_PERSON = "asked for a person"
NO_CONFIDENT_ANSWER = "no confident answer"
ANSWERS_DID_NOT_HELP = "answers did not help"


@dataclass(frozen=True)
class Faq:
    template_id: str
    shortcut: str  # "shipping"
    text: str  # the answer, placeholders ({visitor.name}) left for the caller
    keywords: str = ""  # more words to match, space or comma separated


@dataclass(frozen=True)
class BotState:
    misses: int = 0  # answers the visitor did not find helpful
    answered: tuple[str, ...] = ()  # template ids answered so far, in order
    awaiting_feedback: bool = False  # the bot's last message was an answer


@dataclass(frozen=True)
class Step:
    kind: str  # "answer" | "handoff" | "thanks"
    text: str  # what the bot says
    state: BotState  # the state after this step
    faq: Faq | None = None  # for "answer"
    reason: str = ""  # for "handoff": ASKED_FOR_PERSON, NO_CONFIDENT_ANSWER, ANSWERS_DID_NOT_HELP
    score: float = 0.0  # the best match's score, if any


# (intro before the first answer, reply to thanks, hand-off line); each intro names a word
# wants_human() recognises.
_PHRASES: dict[str, tuple[str, str, str]] = {
    "en": ("I'm the automatic assistant. Type \"person\" any time to reach a human.",
           "Glad I could help! Anything else?",
           "I'll pass you to a person now: they'll see everything above, so no need to repeat."),
    "de": ("Ich bin der automatische Assistent. Schreiben Sie jederzeit „Mensch“, um eine Person "
           "zu erreichen.",
           "Freut mich, dass ich helfen konnte! Noch etwas?",
           "Ich übergebe Sie jetzt an einen Menschen: Er sieht den bisherigen Verlauf, Sie müssen "
           "nichts wiederholen."),
    "es": ("Soy el asistente automático. Escriba «persona» en cualquier momento para hablar con "
           "una persona.",
           "¡Me alegra haber ayudado! ¿Algo más?",
           "Le paso ahora con una persona: verá toda la conversación, así que no hace falta "
           "repetir nada."),
    "ru": ("Я автоматический помощник. Напишите «оператор» в любой момент, чтобы связаться "
           "с человеком.",
           "Рад был помочь! Что-нибудь ещё?",
           "Сейчас передам вас сотруднику: он увидит всю переписку, повторять ничего не нужно."),
    "ja": ("自動アシスタントです。人と話したいときは、いつでも「担当者」と入力してください。",
           "お役に立ててよかったです。ほかにご質問はありますか？",
           "担当者におつなぎします。これまでのやり取りは担当者にも見えるので、繰り返す必要はありません。"),
    "zh": ("我是自动助手。随时输入“人工”即可联系真人客服。",
           "很高兴能帮到您！还有其他问题吗？",
           "现在为您转接人工客服：对方能看到上面的全部对话，无需重复。"),
}

_STOP_WORDS = frozenset("""
a an the is are am was were be been do does did done you your yours i me my mine we us our it its
to of in on at by for from with and or if so as can could would will shall should may might must
how what when where which who whom why much many there here this that these those have has had
please hi hello hey any some about into out up just get also than then too very
take want need like know tell let make use
don doesn didn isn aren wasn won wouldn couldn im ll ve re
der die das den dem des ist sind ich sie wir ihr es ein eine einen einem und oder zu mit für von
wie was wann wo kann können auf im bei
el la los las lo es son de del que y o en un una unos por para mi yo puedo cómo qué cuándo dónde
se al con
я вы мы ты он она оно и или в во на с со по у к это ли можно как что когда где мне вас ваш
""".split())
_CJK_STOP_BIGRAMS = frozenset("你们 我们 可以 什么 怎么 如何 是否 需要 一下 请问 这个 那个 有没 没有".split())

_PLACEHOLDER = re.compile(r"\{[^{}\n]{0,100}\}")
_CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u30a1-\u30ff"  # Han and katakana
_TOKEN = re.compile(rf"(?P<cjk>[{_CJK_CLASS}]+)|(?P<kana>[\u3040-\u309f]+)"
                    rf"|(?P<word>[^\W_\u3040-\u309f{_CJK_CLASS}]+)")

_HUMAN = re.compile(
    r"(?<!\w)(?:(?<!\bin )(?<!\bper )persons?|humans?|(?:live |real )?(?:agent|operator)s?"
    r"|real person|someone real|not a (?:bot|robot|machine)"
    r"|(?:talk|speak|chat) (?:to|with) (?:someone|somebody|a human|a person|staff)"
    r"|representative|menschen?|mitarbeiter(?:in|innen)?|personas?|humanos?|agentes?"
    r"|operador(?:es)?"
    r"|оператор\w{0,3}|человек(?:а|у|ом)?|живо(?:й|го|му)|живым|сотрудник\w{0,3})(?!\w)"
    # Bare CJK words; 人工 also means "artificial" (人工皮革, 人工智能, 人工知能).
    r"|オペレーター|担当者|人間|有人|人工(?!皮|革|智能|知能|合成|芝|宝石)|客服|真人",
    re.IGNORECASE)
_THANKS = re.compile(
    r"(?<!\w)(?:thanks?(?: you| a lot| so much)?|thx|ty|great|perfect|awesome|that helps|"
    r"that helped|helpful|got it|danke(?: schön| sehr)?|super|perfekt|gracias|perfecto|"
    r"genial|спасибо|отлично|понятно)(?!\w)|ありがとう|助かりました|谢谢|多谢|感谢",
    re.IGNORECASE)
# "no thanks", "not really helpful", "nicht perfekt"
_NO_BEFORE_THANKS = re.compile(
    r"(?<!\w)(?:no|not|nope|\w+n't|nein|nicht|нет|не)\W+(?:\w+\W+)?$", re.IGNORECASE)
_NOT_HELPED = re.compile(
    r"(?<!\w)(?:no(?! more| further| other)|not|nope|but|however|still|\w+n't|nicht|nein|kein\w*"
    r"|aber|pero|sin embargo|не|нет|но|однако)(?!\w)|でも|けど|しかし|違|ない|ません|但|不过|可是|没|不是|不对",
    re.IGNORECASE)


class _Match(NamedTuple):
    faq: Faq
    score: float
    coverage: float  # share of the question's idf weight found in this FAQ


def _stem(word: str) -> str:
    """Light English suffix stripping, applied the same way to questions and FAQs."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    for suffix in ("ing", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            word = word[:-len(suffix)]
            # shipping -> shipp -> ship; not "fulfill" or "express"
            if suffix != "s" and len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
                word = word[:-1]
            break
    # close/closed/closing -> clos, size/sizes/sizing -> siz, delivery/deliver -> deliver
    if word.endswith("e") and len(word) > 3 or word.endswith("y") and len(word) > 5:
        return word[:-1]
    return word


class _Run(NamedTuple):
    cjk: str  # the run of Han/katakana, "" for a word
    terms: list[str]


def _runs(text: str) -> list[_Run]:
    """The text's terms, lower-cased: each word stemmed (stop words and numbers left out), each
    run of Han/katakana as its character bigrams in order (a lone character as itself).
    Hiragana (mostly particles and endings) and {placeholders} are left out."""
    text = _PLACEHOLDER.sub(" ", unicodedata.normalize("NFKC", text).casefold())
    runs: list[_Run] = []
    for found in _TOKEN.finditer(text):
        token = found.group()
        if found.lastgroup == "cjk":
            bigrams = [token[i:i + 2] for i in range(len(token) - 1)]
            runs.append(_Run(token, bigrams or [token]))
        elif found.lastgroup == "word" and len(token) > 1 and not token.isdigit() \
                and token not in _STOP_WORDS:
            runs.append(_Run("", [_stem(token)]))
    return runs


def _document_terms(text: str) -> list[str]:
    """A FAQ's terms, with each CJK character alone too: 払えますか asks for a lone 払,
    which 支払い should answer."""
    terms: list[str] = []
    for run in _runs(text[:MAX_FAQ_TEXT]):
        terms.extend(t for t in run.terms if t not in _CJK_STOP_BIGRAMS)
        if len(run.cjk) > 1:
            terms.extend(run.cjk)
    return terms


def _question_terms(question: str, vocabulary: Container[str]) -> set[str]:
    """The question's terms. Bigrams are not words: one no FAQ knows, next to one a FAQ knows or
    a stop bigram, straddles a word boundary (们发 in 你们发货) and is left out."""
    def known(term: str) -> bool:
        return term in vocabulary or term in _CJK_STOP_BIGRAMS

    asked: set[str] = set()
    for run in _runs(question[:MAX_QUESTION]):
        for i, term in enumerate(run.terms):
            neighbours = run.terms[max(i - 1, 0):i] + run.terms[i + 1:i + 2]
            if term in _CJK_STOP_BIGRAMS or (
                    run.cjk and not known(term) and any(known(n) for n in neighbours)):
                continue
            asked.add(term)
    return asked


@lru_cache(maxsize=MAX_FAQS)  # a warm function answers the same site's FAQs again and again
def _document(faq: Faq) -> Counter[str]:
    """The FAQ's terms and their counts (shared: never modify it)."""
    labels = Counter(_document_terms(f"{faq.shortcut} {faq.keywords}"))
    return Counter(_document_terms(faq.text)) + Counter(
        {t: n * _LABEL_WEIGHT for t, n in labels.items()})


def _ranked(question: str, faqs: Sequence[Faq]) -> list[_Match]:
    """FAQs sharing at least one term with the question, best BM25 score first."""
    docs = [_document(faq) for faq in faqs[:MAX_FAQS]]
    asked = _question_terms(question, set().union(*docs))
    if not asked or not docs:
        return []
    average_length = max(sum(sum(d.values()) for d in docs) / len(docs), 1.0)
    total = max(len(docs), _MIN_DOCS)
    containing = {t: sum(1 for d in docs if t in d) for t in asked}
    idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in containing.items()}
    asked_weight = sum(idf.values())
    matches = []
    for faq, doc in zip(faqs, docs, strict=False):  # zip stops at MAX_FAQS
        shared = [t for t in asked if t in doc]
        if not shared:
            continue
        norm = _K1 * (1 - _B + _B * sum(doc.values()) / average_length)
        score = sum(idf[t] * doc[t] * (_K1 + 1) / (doc[t] + norm) for t in shared)
        matches.append(_Match(faq, score, sum(idf[t] for t in shared) / asked_weight))
    return sorted(matches, key=lambda m: -m.score)


def _confident(matches: Sequence[_Match]) -> _Match | None:
    if not matches:
        return None
    best = matches[0]
    if best.score < MIN_SCORE or best.coverage < MIN_COVERAGE:
        return None
    if len(matches) > 1 and matches[1].score >= AMBIGUOUS_RATIO * best.score:
        return None
    return best


def best_answer(question: str, faqs: Sequence[Faq]) -> tuple[Faq, float] | None:
    """The FAQ that answers the question and its score, or None when none does so clearly."""
    match = _confident(_ranked(question, faqs))
    return (match.faq, match.score) if match else None


def wants_human(text: str) -> bool:
    """The visitor asks for a person ("human", "operator", "Mitarbeiter", "人工"…)."""
    return bool(_HUMAN.search(text[:MAX_QUESTION]))


def _thanks_end(text: str) -> int | None:
    """Where the visitor's thanks ends; None without thanks, or with "no thanks" or a "but" or
    a negation after it ("thanks, but that's not it")."""
    text = text[:MAX_QUESTION]
    found = _THANKS.search(text)
    if not found or _NO_BEFORE_THANKS.search(text[:found.start()]) \
            or _NOT_HELPED.search(text[found.end():]):
        return None
    return found.end()


def is_thanks(text: str) -> bool:
    """The visitor says the answer helped ("thanks", "perfect", "danke"…) and asks nothing more."""
    end = _thanks_end(text)
    return end is not None and not any(mark in text[end:MAX_QUESTION] for mark in "?？")


def _phrases(language: str) -> tuple[str, str, str]:
    return _PHRASES.get(primary_language(language or ""), _PHRASES["en"])


def _handoff(state: BotState, reason: str, language: str, misses: int | None = None,
             score: float = 0.0) -> Step:
    after = replace(state, awaiting_feedback=False,
                    misses=state.misses if misses is None else misses)
    return Step("handoff", _phrases(language)[2], after, reason=reason, score=score)


def decide(state: BotState, text: str, faqs: Sequence[Faq], language: str = "en") -> Step:
    """What the bot does with one visitor message: answer, take thanks, or hand off."""
    if wants_human(text):
        return _handoff(state, ASKED_FOR_PERSON, language)
    # Thanks after the bot's "Anything else?" is no new question either.
    if is_thanks(text) and (state.awaiting_feedback or state.answered):
        return Step("thanks", _phrases(language)[1], replace(state, awaiting_feedback=False))
    misses = state.misses
    # One message counts at most one miss; "thanks! and what about returns?" counts none.
    missed = state.awaiting_feedback and _thanks_end(text) is None
    if missed:
        misses += 1
        if misses >= MISSES_TO_HAND_OFF:
            return _handoff(state, ANSWERS_DID_NOT_HELP, language, misses)
    matches = _ranked(text, faqs)
    best = _confident(matches)
    last = state.answered[-1] if state.answered else None
    if best and best.faq.template_id == last:
        # Asking again what was just answered: that answer did not help.
        misses += 0 if missed else 1
        if misses >= MISSES_TO_HAND_OFF:
            return _handoff(state, ANSWERS_DID_NOT_HELP, language, misses, best.score)
        best = _confident([m for m in matches if m.faq.template_id != last])
    if best is None:
        return _handoff(state, NO_CONFIDENT_ANSWER, language, misses,
                        matches[0].score if matches else 0.0)
    intro = "" if state.answered else _phrases(language)[0] + "\n\n"
    after = BotState(misses, (state.answered + (best.faq.template_id,))[-MAX_ANSWERED:], True)
    return Step("answer", intro + best.faq.text, after, faq=best.faq, score=best.score)


def to_doc(state: BotState) -> str:
    """The state as JSON for storage."""
    return json.dumps({"misses": state.misses, "answered": list(state.answered),
                       "awaiting_feedback": state.awaiting_feedback}, separators=(",", ":"))


def from_doc(doc: str | None) -> BotState:
    """The stored state; missing, malformed or mistyped parts read as a fresh state's."""
    try:
        data = json.loads(doc) if doc else {}
    except (TypeError, ValueError, RecursionError):
        return BotState()
    if not isinstance(data, dict):
        return BotState()
    misses = data.get("misses")
    answered = data.get("answered")
    awaiting = data.get("awaiting_feedback")
    return BotState(
        misses=misses if isinstance(misses, int) and not isinstance(misses, bool) and misses > 0
        else 0,
        answered=tuple(a for a in answered if isinstance(a, str))[-MAX_ANSWERED:]
        if isinstance(answered, list) else (),
        awaiting_feedback=awaiting if isinstance(awaiting, bool) else False)
