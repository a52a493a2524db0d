"""The operator workspace's frames: tags, close and reopen, assignment, visitor cards and
reply templates. Every change is pushed to all the site's operators, the sender included.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib import protocol
from chalicelib.dialogs import posting, rules, updates
from chalicelib.realtime import audience
from chalicelib.realtime.delivery import Outbox
from chalicelib.routing import assign
from chalicelib.shared.clock import new_id, now_ms
from chalicelib.shared.errors import Invalid, NotFound
from chalicelib.site import siteconfig
from chalicelib.storage import (
    dialog_list_store,
    dialog_store,
    operator_store,
    site_store,
    template_store,
    visitor_event_store,
    visitor_store,
)
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.dialog_store import Dialog
from chalicelib.storage.operator_store import Operator
from chalicelib.storage.template_store import Template
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import cards, events, tracking
from chalicelib.workspace import templates

CHANGE_ATTEMPTS = 5


def site_dialog(conn: Connection, dialog_id: str | None) -> Dialog:
    """The dialog, when it is this operator's site's; NotFound otherwise (the two look alike)."""
    dialog = dialog_store.get_dialog(dialog_id or "")
    if dialog is None or dialog.site_id != conn.site_id:
        raise NotFound("dialog not found")
    return dialog


def _to_operators(site_id: str, outbox: Outbox, frame: dict[str, Any]) -> None:
    outbox.add(audience.operators(site_id), frame)



# --- the workspace --------------------------------------------------------------------------

def _workspace(conn: Connection, _frame: protocol.Frame, outbox: Outbox) -> None:
    me = operator_store.get_operator(conn.subject_id)
    site = site_store.get_site(conn.site_id)
    if me is None or site is None:
        raise NotFound("operator not found")
    outbox.add([conn.connection_id], {
        "type": "workspace",
        "me": {"operator_id": me.operator_id, "name": me.name, "email": me.email,
               "avatar": cards.gravatar(me.email)},
        "site": {"site_id": site.site_id, "name": site.name},
        "operators": sorted(({"operator_id": op.operator_id, "name": op.name, "avatar": cards.gravatar(op.email)}
                             for op in operator_store.site_operators(conn.site_id)), key=lambda op: op["name"].lower()),
        "templates": templates.views(template_store.site_templates(conn.site_id)),
        "tags": sorted(site.tags or (), key=str.lower),
    })


# --- tags, status, assignment -----------------------------------------------------------------

def _tag(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    tag, add = frame.tag or "", frame.type == "tag_add"
    dialog = dialog_store.tag_dialog(frame.dialog_id or "", conn.site_id, tag, add, rules.MAX_TAGS)
    if dialog is None:
        site_dialog(conn, frame.dialog_id)
        raise Invalid(f"a dialog has at most {rules.MAX_TAGS} tags")
    if add:
        site_store.add_site_tag(conn.site_id, tag)
    updates.dialog_changed(dialog, outbox)


def _change(conn: Connection, dialog_id: str | None, actions_for: Callable[[Dialog], list[Any]]) -> Dialog:
    """Applies a change of status or assignee, read again and retried when another one races."""
    for _ in range(CHANGE_ATTEMPTS):
        dialog = site_dialog(conn, dialog_id)
        actions = actions_for(dialog)
        if not actions:
            return dialog
        changed = dialog_store.change_dialog(dialog.dialog_id, conn.site_id, int(dialog.rev or 0), actions)
        if changed is not None:
            return changed
    raise Invalid("the dialog is changing right now; try again")


def _close(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    at = now_ms()
    dialog = _change(conn, frame.dialog_id,
                     lambda d: rules.status_change(d, "closed", at) if d.status != "closed" else [])
    visitor_store.release_open_dialog(dialog.visitor_id, dialog.dialog_id)
    outbox.add(dialog.visitor_conns or (), {"type": "closed", "dialog_id": dialog.dialog_id})
    updates.dialog_changed(dialog, outbox)
    assign.closed(dialog, outbox)  # after the close: a repeated close still frees capacity


def _reopen(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    at = now_ms()
    dialog = _change(conn, frame.dialog_id,
                     lambda d: rules.status_change(d, "open", at) if d.status != "open" else [])
    # The visitor writes into it again, unless they have started another dialog meanwhile.
    visitor_store.claim_open_dialog(dialog.visitor_id, dialog.dialog_id)
    # The operator who reopens it has it again (the operators get its summary).
    assign.assign_to(conn.site_id, dialog.dialog_id, conn.subject_id, outbox, by=conn.subject_id)


def _assign(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    dialog = site_dialog(conn, frame.dialog_id)
    if dialog.status != "open":
        raise Invalid("this dialog is closed; reopen it first")
    if frame.operator_id is None:
        assign.back_to_queue(conn.site_id, dialog.dialog_id, outbox)
        return
    _site_operator(conn, frame.operator_id)
    assign.assign_to(conn.site_id, dialog.dialog_id, frame.operator_id, outbox, by=conn.subject_id)


def _site_operator(conn: Connection, operator_id: str) -> Operator:
    operator = operator_store.get_operator(operator_id)
    if operator is None or operator.site_id != conn.site_id:
        raise NotFound("operator not found")
    return operator


def _transfer(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    """Hands the dialog to another operator (or back to the queue) with a note for them; the
    receiver has the whole dialog, its notes and the card, and the visitor one conversation."""
    dialog = site_dialog(conn, frame.dialog_id)
    if dialog.status != "open":
        raise Invalid("this dialog is closed; reopen it first")
    if frame.operator_id is None:
        receiver = "the queue"
        assign.back_to_queue(conn.site_id, dialog.dialog_id, outbox)
    else:
        receiver = _site_operator(conn, frame.operator_id).name
        assign.assign_to(conn.site_id, dialog.dialog_id, frame.operator_id, outbox, by=conn.subject_id)
    text = f"Transferred to {receiver} by {conn.name or 'Operator'}" + (f": {frame.comment}" if frame.comment else "")
    posting.post(dialog.dialog_id, rules.operator_author(conn.subject_id, conn.name), text, outbox, note=True)


# --- visitor cards ----------------------------------------------------------------------------

def _site_visitor(conn: Connection, visitor_id: str | None) -> Visitor:
    visitor = visitor_store.get_visitor(visitor_id or "")
    if visitor is None or visitor.site_id != conn.site_id:
        raise NotFound("visitor not found")
    return visitor


def _visitor(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    visitor = _site_visitor(conn, frame.visitor_id)
    found = dialog_list_store.visitor_dialogs(visitor.visitor_id, updates.MAX_DIALOGS_ON_CARD)
    setup = siteconfig.load_site(conn.site_id)
    outbox.add([conn.connection_id], {"type": "visitor", "visitor": tracking.full_card(visitor, setup),
                                      "dialogs": [rules.dialog_summary(d) for d in found]})


def _visitor_update(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    edits = cards.check_edits(frame.edits or {})
    visitor = _site_visitor(conn, frame.visitor_id)
    changed = {field: value for field, value in edits.items() if getattr(visitor, field) != value}
    setup = siteconfig.load_site(conn.site_id)
    if changed:
        before = {field: getattr(visitor, field) for field in changed}
        visitor = tracking.change(setup, visitor, lambda _current: dict(changed), now_ms())
        _record_edits(visitor.visitor_id, before, changed, conn.name or "Operator")
        if "email" in changed:
            updates.email_changed(visitor, outbox)
        elif "name" in changed:
            updates.rename_dialogs(visitor, outbox)
    _to_operators(conn.site_id, outbox, {"type": "visitor", "visitor": tracking.full_card(visitor, setup)})


def _record_edits(visitor_id: str, before: dict[str, str | None], changed: dict[str, str | None],
                  by: str) -> None:
    at = now_ms()
    for field, value in changed.items():
        visitor_event_store.put_visitor_event(events.new_event(visitor_id, "edit", at, {
            "field": field, "old": before[field], "new": value, "by": by}))



def _visitor_events(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    visitor = _site_visitor(conn, frame.visitor_id)
    page, cursor = visitor_event_store.visitor_events(visitor.visitor_id, frame.cursor, events.PAGE)
    outbox.add([conn.connection_id], {"type": "visitor_events", "visitor_id": visitor.visitor_id,
                                      "events": [events.event_view(e) for e in page], "cursor": cursor})


# --- reply templates --------------------------------------------------------------------------

def _template_save(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    current = template_store.site_templates(conn.site_id)
    known = {t.template_id for t in current}
    if frame.template_id is None and len(current) >= templates.MAX_PER_SITE:
        raise Invalid(f"a site has at most {templates.MAX_PER_SITE} templates; delete one first")
    if frame.template_id is not None and frame.template_id not in known:
        raise NotFound("template not found")
    template = Template(conn.site_id, frame.template_id or new_id("t"), shortcut=frame.shortcut,
                        text=frame.text, updated_at=now_ms(), updated_by=conn.name or "Operator",
                        faq=True if frame.faq else None, keywords=frame.keywords or None)
    if not template_store.put_template(template, must_exist=frame.template_id is not None):
        raise NotFound("template not found")
    kept = [t for t in current if t.template_id != template.template_id]
    _to_operators(conn.site_id, outbox, {"type": "templates", "templates": templates.views([*kept, template])})


def _template_delete(conn: Connection, frame: protocol.Frame, outbox: Outbox) -> None:
    current = template_store.site_templates(conn.site_id)
    if frame.template_id not in {t.template_id for t in current}:
        raise NotFound("template not found")
    template_store.delete_template(conn.site_id, frame.template_id or "")
    kept = [t for t in current if t.template_id != frame.template_id]
    _to_operators(conn.site_id, outbox, {"type": "templates", "templates": templates.views(kept)})


HANDLERS: dict[str, Callable[[Connection, protocol.Frame, Outbox], None]] = {
    "workspace": _workspace,
    "tag_add": _tag, "tag_remove": _tag,
    "close": _close, "reopen": _reopen, "assign": _assign, "transfer": _transfer,
    "visitor": _visitor, "visitor_update": _visitor_update, "visitor_events": _visitor_events,
    "template_save": _template_save, "template_delete": _template_delete,
}
