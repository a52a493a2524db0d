"""The email mirror's state on the dialogs table: read marks, the mirror's schedule, the thread."""
from __future__ import annotations

from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib.storage.base import conditional_update
from chalicelib.storage.dialog_store import Dialog


def mark_read(dialog_id: str, visitor_id: str, seq: int) -> bool:
    """UpdateItem dialogs[dialog_id]: the visitor saw messages up to `seq` in the widget
    (only ever raised, never past the last message)."""
    not_yet = Dialog.visitor_read_seq.does_not_exist() | (Dialog.visitor_read_seq < seq)
    return conditional_update(Dialog(dialog_id), [Dialog.visitor_read_seq.set(seq)],
                               (Dialog.visitor_id == visitor_id) & (Dialog.last_seq >= seq) & not_yet)


def schedule_mail(dialog_id: str, shard: str, due_ms: int) -> None:
    """UpdateItem dialogs[dialog_id]: the mirror looks at it once `due_ms` passes; each new
    answer moves it later (a debounce: quick answers make one email)."""
    conditional_update(Dialog(dialog_id), [Dialog.mail_shard.set(shard), Dialog.mail_due_at.set(due_ms)],
                        Dialog.dialog_id.exists())


def mail_due(shard: str, now_ms: int) -> Any:
    """Query dialogs.mail-index[shard, mail_due_at <= now], all pages (an iterator)."""
    return Dialog.by_mail.query(shard, Dialog.mail_due_at <= now_ms)


def _unchanged(dialog: Dialog) -> Condition:
    """The dialog's mail schedule is still as read: no answer came in meanwhile."""
    mailed = (Dialog.mailed_seq == dialog.mailed_seq if dialog.mailed_seq is not None
              else Dialog.mailed_seq.does_not_exist())
    return (Dialog.mail_due_at == dialog.mail_due_at) & mailed


def clear_mail_due(dialog: Dialog) -> bool:
    """UpdateItem dialogs[dialog_id]: nothing to email (the visitor read it), unless an answer
    came in since the dialog was read."""
    return conditional_update(Dialog(dialog.dialog_id), [Dialog.mail_due_at.remove(), Dialog.mail_shard.remove()],
                               _unchanged(dialog))


def claim_mail(dialog: Dialog, seqs: list[int]) -> bool:
    """UpdateItem dialogs[dialog_id]: this run emails the answers `seqs` (the last one is the
    highest); False when another run did, or an answer came in since (the next run sends it all)."""
    actions = [Dialog.mailed_seq.set(seqs[-1]), Dialog.mailed_seqs.add(set(seqs)), Dialog.mail_due_at.remove(),
               Dialog.mail_shard.remove()]
    return conditional_update(Dialog(dialog.dialog_id), actions, _unchanged(dialog))


def mail_sent(dialog_id: str, message_ref: str, subject: str) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: the thread's newest Message-ID (and its first and its
    subject, kept from the first email); the dialog as updated."""
    dialog = Dialog(dialog_id)
    actions = [Dialog.mail_last_ref.set(message_ref), Dialog.mail_failures.remove(),
               Dialog.mail_root_ref.set(Dialog.mail_root_ref | message_ref),
               Dialog.mail_subject.set(Dialog.mail_subject | subject)]
    return dialog if conditional_update(dialog, actions, Dialog.dialog_id.exists()) else None


def mail_failed(dialog: Dialog, seqs: list[int], shard: str, retry_at_ms: int, failures: int) -> None:
    """UpdateItem dialogs[dialog_id]: sending `seqs` failed; they are due again at `retry_at_ms`
    (`mailed_seq` back to what it was), or given up on when `shard` is empty."""
    previous = (Dialog.mailed_seq.set(dialog.mailed_seq) if dialog.mailed_seq is not None
                else Dialog.mailed_seq.remove())
    actions = [previous, Dialog.mailed_seqs.delete(set(seqs)), Dialog.mail_failures.set(failures)]
    if shard:
        actions += [Dialog.mail_shard.set(shard), Dialog.mail_due_at.set(retry_at_ms)]
    conditional_update(Dialog(dialog.dialog_id), actions, Dialog.dialog_id.exists())


def thread_reply(dialog_id: str, message_ref: str, visitor_email: str) -> None:
    """UpdateItem dialogs[dialog_id]: the visitor's email is the thread's newest (our next
    email answers it) and the dialog knows where the visitor writes from."""
    actions = [Dialog.mail_last_ref.set(message_ref), Dialog.mail_root_ref.set(Dialog.mail_root_ref | message_ref),
               Dialog.visitor_email.set(Dialog.visitor_email | visitor_email)]
    conditional_update(Dialog(dialog_id), actions, Dialog.dialog_id.exists())
