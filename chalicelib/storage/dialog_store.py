"""The dialogs table: a dialog's summary, its writes (each message's seq, the wait for an
answer, tags, assignment) and its indexes. Lists are in dialog_list_store, the email
mirror's state in dialog_mail_store."""
from __future__ import annotations

import zlib
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    NumberSetAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition, size
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import AuthorAttribute, conditional_update, table_meta


class DialogSiteStatusIndex(GlobalSecondaryIndex):
    """Dialogs of a site in one status, most recent activity first."""

    class Meta:
        index_name = "site-status-index"
        projection = AllProjection()

    site_status = UnicodeAttribute(hash_key=True)
    last_activity = NumberAttribute(range_key=True)


class DialogAssigneeIndex(GlobalSecondaryIndex):
    """Dialogs of a site in one status assigned to one operator (or to nobody: "-")."""

    class Meta:
        index_name = "assignee-index"
        projection = AllProjection()

    assignee_key = UnicodeAttribute(hash_key=True)  # "<site_id>#<status>#<operator_id or ->"
    last_activity = NumberAttribute(range_key=True)


class DialogVisitorIndex(GlobalSecondaryIndex):
    """Every dialog a visitor ever had, in the order they started."""

    class Meta:
        index_name = "visitor-index"
        projection = AllProjection()

    visitor_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class DialogMailIndex(GlobalSecondaryIndex):
    """Sparse: dialogs with operator answers to email once `mail_due_at` passes (the mirror)."""

    class Meta:
        index_name = "mail-index"
        projection = AllProjection()

    mail_shard = UnicodeAttribute(hash_key=True)
    mail_due_at = NumberAttribute(range_key=True)


class DialogWaitIndex(GlobalSecondaryIndex):
    """Sparse: dialogs whose visitor waits for an operator's answer, by how long (the answer-time
    schedule, docs/routing.md)."""

    class Meta:
        index_name = "wait-index"
        projection = AllProjection()

    wait_shard = UnicodeAttribute(hash_key=True)
    waiting_since = NumberAttribute(range_key=True)


class Dialog(Model):
    Meta = table_meta("dialogs")
    BUMPS_VERSION = True  # every write bumps `version` (base.conditional_update)
    dialog_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    visitor_id = UnicodeAttribute()
    visitor_name = UnicodeAttribute()
    status = UnicodeAttribute()
    site_status = UnicodeAttribute()
    created_at = NumberAttribute()
    last_activity = NumberAttribute()
    last_seq = NumberAttribute(default=0)
    last_text = UnicodeAttribute(null=True)
    last_author = AuthorAttribute(null=True)
    # Websocket connections of the visitor's open tabs: returned by the same UpdateItem that
    # allocates a message's seq, so delivery to the visitor costs no extra read.
    visitor_conns = UnicodeSetAttribute(null=True)
    visitor_email = UnicodeAttribute(null=True)
    tags = UnicodeSetAttribute(null=True)
    visitor_segments = UnicodeSetAttribute(null=True)  # the visitor's segments, for the list filter
    assignee_id = UnicodeAttribute(null=True)
    assignee_name = UnicodeAttribute(null=True)
    assignee_key = UnicodeAttribute()
    closed_at = NumberAttribute(null=True)
    # Bumped by every change of status or assignee (the index keys built from them), so two
    # such changes racing cannot leave the keys inconsistent: each is conditional on it.
    rev = NumberAttribute(default=0)
    version = NumberAttribute(null=True)  # bumped by every write: the newest summary wins on clients
    # Email continuity (docs/email.md): what the visitor read in the widget, what was emailed,
    # when the next email is due, and the thread's Message-IDs and subject.
    channel = UnicodeAttribute(null=True)  # "email" when the dialog started by email
    visitor_read_seq = NumberAttribute(null=True)
    mailed_seq = NumberAttribute(null=True)
    mailed_seqs = NumberSetAttribute(null=True)  # the answers that went out by email
    mail_shard = UnicodeAttribute(null=True)
    mail_due_at = NumberAttribute(null=True)
    mail_failures = NumberAttribute(null=True)
    mail_subject = UnicodeAttribute(null=True)
    mail_root_ref = UnicodeAttribute(null=True)
    mail_last_ref = UnicodeAttribute(null=True)
    # Routing (docs/routing.md). The routing table decides who has the dialog; `assignee_*`
    # mirror it for the lists. `waiting_since`: the oldest visitor message not answered yet.
    waiting_since = NumberAttribute(null=True)
    wait_shard = UnicodeAttribute(null=True)
    late = BooleanAttribute(null=True)  # waited over the site's answer time
    offered_to = UnicodeAttribute(null=True)  # waited over reassign time: offered to this operator
    offered_name = UnicodeAttribute(null=True)
    offered_at = NumberAttribute(null=True)
    queue_no = NumberAttribute(null=True)  # its ticket in the site's queue while it waits there
    queued_at = NumberAttribute(null=True)
    assigned_at = NumberAttribute(null=True)
    previous_dialog_id = UnicodeAttribute(null=True)  # the closed dialog this one continues
    rating = UnicodeAttribute(null=True)  # "good" | "bad"
    rating_comment = UnicodeAttribute(null=True)
    rated_at = NumberAttribute(null=True)
    bot = UnicodeAttribute(null=True)  # "active" | "handed_off"
    bot_state = UnicodeAttribute(null=True)  # bot.BotState as JSON
    by_site_status = DialogSiteStatusIndex()
    by_assignee = DialogAssigneeIndex()
    by_visitor = DialogVisitorIndex()
    by_mail = DialogMailIndex()
    by_wait = DialogWaitIndex()


def put_dialog(dialog: Dialog) -> None:
    """PutItem dialogs."""
    dialog.save()


def delete_dialog(dialog_id: str) -> None:
    """DeleteItem dialogs[dialog_id]."""
    Dialog(dialog_id).delete()


def get_dialog(dialog_id: str) -> Dialog | None:
    """GetItem dialogs[dialog_id]."""
    try:
        return Dialog.get(dialog_id)
    except DoesNotExist:
        return None


def record_message(dialog_id: str, guard: Condition, author: dict[str, Any], preview: str,
                   at_ms: int, wait: str | None = None) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: allocates the next seq and updates the summary.

    `guard` states who may write (the dialog's visitor, or an operator of its site). `wait`:
    "start" (a visitor message: the wait for an answer starts, unless it already runs) or
    "stop" (an answer: nothing waits any more). Returns the dialog as updated (its `last_seq`
    is the new message's seq), or None when the dialog does not exist or the guard fails: the
    caller cannot tell the two apart, on purpose.
    """
    dialog = Dialog(dialog_id)
    actions = [Dialog.last_seq.add(1), Dialog.last_activity.set(at_ms), Dialog.last_text.set(preview),
               Dialog.last_author.set(author)]
    if wait == "start":
        actions += [Dialog.waiting_since.set(Dialog.waiting_since | at_ms),
                    Dialog.wait_shard.set(Dialog.wait_shard | wait_shard_of(dialog_id))]
    elif wait == "stop":
        actions += _answered()
    return dialog if conditional_update(dialog, actions, Dialog.dialog_id.exists() & guard) else None


WAIT_SHARDS = 4


def wait_shard_of(dialog_id: str) -> str:
    return f"w{zlib.crc32(dialog_id.encode()) % WAIT_SHARDS}"


def _answered() -> list[Any]:
    return [Dialog.waiting_since.remove(), Dialog.wait_shard.remove(), Dialog.late.remove(),
            Dialog.offered_to.remove(), Dialog.offered_name.remove(), Dialog.offered_at.remove()]


def stop_waiting(dialog_id: str) -> None:
    """UpdateItem dialogs[dialog_id]: nothing waits for an answer (closed, or the bot answered)."""
    conditional_update(Dialog(dialog_id), _answered(), Dialog.dialog_id.exists())


def start_waiting(dialog_id: str, at_ms: int) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: the wait for an answer starts now, unless it runs."""
    dialog = Dialog(dialog_id)
    actions = [Dialog.waiting_since.set(Dialog.waiting_since | at_ms),
               Dialog.wait_shard.set(Dialog.wait_shard | wait_shard_of(dialog_id))]
    return dialog if conditional_update(dialog, actions, Dialog.dialog_id.exists()) else None


def waiting_dialogs(shard: str, since_ms: int) -> Any:
    """Query dialogs.wait-index[shard, waiting_since <= since_ms], all pages (an iterator)."""
    return Dialog.by_wait.query(shard, Dialog.waiting_since <= since_ms)


def mark_waiting(dialog: Dialog, actions: list[Any]) -> Dialog | None:
    """UpdateItem dialogs[dialog_id] while the same wait runs (nobody answered meanwhile):
    the answer-time flags (`late`, `offered_to`)."""
    updated = Dialog(dialog.dialog_id)
    still = Dialog.waiting_since == dialog.waiting_since
    return updated if conditional_update(updated, actions, still) else None


def set_dialog_fields_if(dialog_id: str, actions: list[Any], condition: Condition) -> Dialog | None:
    """UpdateItem dialogs[dialog_id] when `condition` holds: the dialog as updated, or None."""
    dialog = Dialog(dialog_id)
    return dialog if conditional_update(dialog, actions, condition) else None


def set_dialog_fields(dialog_id: str, actions: list[Any]) -> Dialog | None:
    """UpdateItem dialogs[dialog_id] (while it exists): fields no index key depends on."""
    dialog = Dialog(dialog_id)
    return dialog if conditional_update(dialog, actions, Dialog.dialog_id.exists()) else None


def add_visitor_connection(dialog_id: str, visitor_id: str, connection_id: str) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: subscribes a visitor tab; None if not the visitor's."""
    dialog = Dialog(dialog_id)
    ok = conditional_update(dialog, [Dialog.visitor_conns.add({connection_id})],
                             Dialog.visitor_id == visitor_id)
    return dialog if ok else None


def remove_visitor_connections(dialog_id: str, connection_ids: set[str]) -> None:
    """UpdateItem dialogs[dialog_id]: forgets visitor tabs that are gone."""
    conditional_update(Dialog(dialog_id), [Dialog.visitor_conns.delete(connection_ids)],
                        Dialog.dialog_id.exists())


def change_dialog(dialog_id: str, site_id: str, rev: int, actions: list[Any]) -> Dialog | None:
    """UpdateItem dialogs[dialog_id] if it is the site's and still at `rev` (bumped here).

    For changes to status or assignee, which rebuild index keys: a racing change makes this
    return None and the caller reads again."""
    dialog = Dialog(dialog_id)
    still = Dialog.rev == rev if rev else (Dialog.rev.does_not_exist() | (Dialog.rev == 0))
    ok = conditional_update(dialog, [*actions, Dialog.rev.set(rev + 1)],
                             (Dialog.site_id == site_id) & still)
    return dialog if ok else None


def tag_dialog(dialog_id: str, site_id: str, tag: str, add: bool, max_tags: int) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: adds or removes a tag; None when the dialog is not the
    site's or already has `max_tags` other tags."""
    dialog = Dialog(dialog_id)
    condition = Dialog.site_id == site_id
    if add:
        condition &= (Dialog.tags.does_not_exist() | Dialog.tags.contains(tag)
                      | (size(Dialog.tags) < max_tags))
    action = Dialog.tags.add({tag}) if add else Dialog.tags.delete({tag})
    return dialog if conditional_update(dialog, [action], condition) else None


def set_visitor_on_dialog(dialog_id: str, name: str, email: str | None) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: the visitor's name and email as the list shows them."""
    dialog = Dialog(dialog_id)
    email_action = Dialog.visitor_email.set(email) if email else Dialog.visitor_email.remove()
    ok = conditional_update(dialog, [Dialog.visitor_name.set(name), email_action],
                             Dialog.dialog_id.exists())
    return dialog if ok else None


def set_dialog_segments(dialog_id: str, segments: set[str]) -> None:
    """UpdateItem dialogs[dialog_id]: the visitor's segments, for the list's filter."""
    action = Dialog.visitor_segments.set(segments) if segments else Dialog.visitor_segments.remove()
    conditional_update(Dialog(dialog_id), [action], Dialog.dialog_id.exists())
