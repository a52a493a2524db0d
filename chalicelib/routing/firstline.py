"""The site's bot as the first line (docs/routing.md): it answers from the reply templates
marked FAQ (chalicelib.routing.bot decides), says it is a bot, and hands the dialog to a person when it
has no confident answer, the visitor asks for one, or two answers did not help. The hand-off
leaves the operators a note of what the bot learned, and routes the dialog."""
from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from chalicelib.dialogs.posting import post
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import assign
from chalicelib.shared.clock import now_ms
from chalicelib.site import placeholders, siteconfig
from chalicelib.storage import dialog_store, message_store, site_store, template_store, visitor_store
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.message_store import Message

if TYPE_CHECKING:
    from chalicelib.routing import bot

logger = Logger(service="parley", child=True)
QUESTIONS_IN_NOTE = 5


def has_faqs(site_id: str) -> bool:
    """Query templates[site_id]: whether the bot has anything to answer with."""
    return any(t.faq for t in template_store.site_templates(site_id))


def _faqs(site_id: str) -> list[bot.Faq]:
    from chalicelib.routing import bot  # only a site whose bot answers pays for loading it

    return [bot.Faq(t.template_id, t.shortcut, t.text, t.keywords or "")
            for t in template_store.site_templates(site_id) if t.faq]


def _author(site_id: str) -> dict[str, str]:
    site = site_store.get_site(site_id)
    name = siteconfig.settings_of(site).bot_name if site is not None else "Assistant"
    return {"kind": "bot", "name": name}


def respond(dialog: Dialog, question: Message, outbox: Outbox) -> None:
    """The bot's turn after a visitor message in a dialog it has."""
    from chalicelib.routing import bot

    visitor = visitor_store.get_visitor(dialog.visitor_id)
    language = (visitor.language if visitor else None) or "en"
    step = bot.decide(bot.from_doc(dialog.bot_state), question.text or "", _faqs(dialog.site_id), language)
    if step.kind == "handoff":
        hand_off(dialog, step.reason, outbox, step)
        return
    text = placeholders.render(step.text, _placeholders(dialog, visitor))
    # The bot answered: nothing waits for a person (the visitor message started the wait).
    post(dialog.dialog_id, _author(dialog.site_id), text, outbox, wait="stop", client_id=f"bot-{question.client_id}")
    dialog_store.set_dialog_fields(dialog.dialog_id, [Dialog.bot_state.set(bot.to_doc(step.state))])


def _placeholders(dialog: Dialog, visitor: object) -> dict[str, str | None]:
    site = site_store.get_site(dialog.site_id)
    return {"visitor.name": getattr(visitor, "name", None), "visitor.email": getattr(visitor, "email", None),
            "visitor.phone": getattr(visitor, "phone", None), "operator.name": None,
            "site.name": site.name if site is not None else None}


def hand_off(dialog: Dialog, reason: str, outbox: Outbox, step: bot.Step | None = None) -> None:
    """A person takes over (once): the bot says so, the operators get a note of what it
    learned, and the dialog is routed like any new one."""
    from chalicelib.routing import bot

    taken = dialog_store.set_dialog_fields_if(dialog.dialog_id, [Dialog.bot.set("handed_off")], Dialog.bot == "active")
    if taken is None:
        if not dialog.assignee_id and dialog.queued_at is None and dialog.status == "open":
            assign.route(dialog, outbox)
        return
    visitor = visitor_store.get_visitor(dialog.visitor_id)
    language = (visitor.language if visitor else None) or "en"
    state = bot.from_doc(dialog.bot_state)
    line = step.text if step is not None else bot.decide(state, "human", [], language).text
    author = _author(dialog.site_id)
    post(dialog.dialog_id, author, line, outbox, client_id=f"handoff-{dialog.dialog_id}")
    post(dialog.dialog_id, author, _learned(dialog, state, reason, visitor), outbox, note=True,
         client_id=f"handoff-note-{dialog.dialog_id}")
    waiting = dialog_store.start_waiting(dialog.dialog_id, now_ms())
    assign.route(waiting or dialog, outbox)


def _learned(dialog: Dialog, state: bot.BotState, reason: str, visitor: object) -> str:
    """The note a person reads first: why the bot handed over, what was asked and answered."""
    asked = [m.text for m in message_store.messages_after(dialog.dialog_id, 0, 200)
             if (m.author.kind if m.author else "") == "visitor" and m.text][-QUESTIONS_IN_NOTE:]
    shortcuts = {faq.template_id: faq.shortcut for faq in _faqs(dialog.site_id)}
    answered = ", ".join(shortcuts.get(t, t) for t in state.answered) or "none"
    lines = [f"Bot hand-off ({reason}). FAQ answers given: {answered}; unhelpful: {state.misses}."]
    if asked:
        lines.append("The visitor asked: " + " / ".join(_one_line(q) for q in asked))
    email = getattr(visitor, "email", None)
    if email:
        lines.append(f"Email: {email}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 200 else line[:199] + "…"

