"""Access patterns. Each function is one DynamoDB request unless its docstring says otherwise."""
from __future__ import annotations

import base64
import json
import threading
import zlib
from collections import OrderedDict
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition, size

from chalicelib.storage.models import (
    Connection,
    Dialog,
    Greeting,
    MailItem,
    Message,
    Operator,
    Site,
    SiteConfig,
    Template,
    Visitor,
    VisitorEvent,
)

READ_PAGES = 5  # a filtered list reads at most this many pages before it answers with a cursor
FILTERED_PAGE = 200  # items a filtered list reads per request


def _condition_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


# --- sites and operators -------------------------------------------------------------------

def get_site(site_id: str) -> Site | None:
    """GetItem sites[site_id]."""
    try:
        return Site.get(site_id)
    except DoesNotExist:
        return None


def get_operator_by_email(email: str) -> Operator | None:
    """Query operators.email-index[email]."""
    return next(iter(Operator.by_email.query(email, limit=1)), None)


def get_operator(operator_id: str) -> Operator | None:
    """GetItem operators[operator_id]."""
    try:
        return Operator.get(operator_id)
    except DoesNotExist:
        return None


def site_operators(site_id: str) -> list[Operator]:
    """Query operators.site-index[site_id] (names and emails only)."""
    return list(Operator.by_site.query(site_id))


def add_site_tag(site_id: str, tag: str) -> None:
    """UpdateItem sites[site_id]: the tag joins the site's list (a set: adding twice is once)."""
    Site(site_id).update(actions=[Site.tags.add({tag})], condition=Site.site_id.exists())


def set_site_settings(site_id: str, settings_json: str) -> bool:
    """UpdateItem sites[site_id]: the proactive and widget settings."""
    return _conditional_update(Site(site_id), [Site.settings.set(settings_json)], Site.site_id.exists())


# --- site configuration: triggers, segments, blocks and trigger counters ------------------

def site_config(site_id: str) -> list[SiteConfig]:
    """Query site_config[site_id, begins_with "c#"]: every trigger, segment and block."""
    return list(SiteConfig.query(site_id, SiteConfig.item_key.startswith("c#")))


def put_config_item(item: SiteConfig) -> None:
    """PutItem site_config."""
    item.save()


def delete_config_item(site_id: str, item_key: str) -> None:
    """DeleteItem site_config[site_id, item_key]."""
    SiteConfig(site_id, item_key).delete()


def trigger_counters(site_id: str) -> list[SiteConfig]:
    """Query site_config[site_id, begins_with "s#"]: each trigger's counters."""
    return list(SiteConfig.query(site_id, SiteConfig.item_key.startswith("s#")))


def count_for_trigger(site_id: str, trigger_id: str, **counts: int) -> None:
    """UpdateItem site_config[site_id, "s#<trigger_id>"]: adds to counters (atomic)."""
    item = SiteConfig(site_id, f"s#{trigger_id}")
    item.update(actions=[getattr(SiteConfig, name).add(value) for name, value in counts.items()])


# --- greetings ------------------------------------------------------------------------------

def session_greetings(visitor_id: str, session_id: str) -> list[Greeting]:
    """Query greetings[visitor_id, begins_with "s#<session>#"], strongly consistent: the slots
    a session's greetings took."""
    return list(Greeting.query(visitor_id, Greeting.greeting_key.startswith(f"s#{session_id}#"),
                               consistent_read=True))


def claim_greeting(greeting: Greeting) -> bool:
    """PutItem greetings unless the key is taken: False when another path got there first."""
    return _conditional_put(greeting, Greeting.greeting_key.does_not_exist())


def get_greeting(visitor_id: str, greeting_key: str) -> Greeting | None:
    """GetItem greetings[visitor_id, greeting_key]."""
    try:
        return Greeting.get(visitor_id, greeting_key)
    except DoesNotExist:
        return None


def mark_greeting(visitor_id: str, greeting_key: str, attribute: str, at_ms: int) -> bool:
    """UpdateItem greetings[...]: sets `accepted_at` or `converted_at` once; False if already set."""
    field = getattr(Greeting, attribute)
    return _conditional_update(Greeting(visitor_id, greeting_key), [field.set(at_ms)],
                               Greeting.greeting_key.exists() & field.does_not_exist())


# --- visitors -------------------------------------------------------------------------------

def get_visitor(visitor_id: str) -> Visitor | None:
    """GetItem visitors[visitor_id]."""
    try:
        return Visitor.get(visitor_id)
    except DoesNotExist:
        return None


def put_visitor(visitor: Visitor) -> None:
    """PutItem visitors."""
    visitor.save()


def latest_dialog_id(visitor_id: str) -> str | None:
    """GetItem visitors[visitor_id]: the visitor's open dialog, else the last one (closed)."""
    visitor = get_visitor(visitor_id)
    return (visitor.open_dialog_id or visitor.last_dialog_id) if visitor else None


def claim_open_dialog(visitor_id: str, dialog_id: str, replacing: str | None = None) -> bool:
    """UpdateItem visitors[visitor_id]: sets open_dialog_id unless another tab already did.

    `replacing` is a closed dialog the visitor's record may still name (closing clears it in a
    second step); it counts as no open dialog."""
    free = Visitor.open_dialog_id.does_not_exist()
    if replacing:
        free = free | (Visitor.open_dialog_id == replacing)
    actions = [Visitor.open_dialog_id.set(dialog_id), Visitor.last_dialog_id.set(dialog_id)]
    return _conditional_update(Visitor(visitor_id), actions, Visitor.visitor_id.exists() & free)


def release_open_dialog(visitor_id: str, dialog_id: str) -> None:
    """UpdateItem visitors[visitor_id]: forgets the open dialog if it is still this one."""
    _conditional_update(Visitor(visitor_id), [Visitor.open_dialog_id.remove()],
                        Visitor.open_dialog_id == dialog_id)


def update_visitor(visitor_id: str, site_id: str, actions: list[Any]) -> Visitor | None:
    """UpdateItem visitors[visitor_id] when it is the site's; the visitor as updated, or None."""
    visitor = Visitor(visitor_id)
    if not _conditional_update(visitor, actions, Visitor.site_id == site_id):
        return None
    return visitor


def update_visitor_at_version(visitor_id: str, version: int, actions: list[Any]) -> bool:
    """UpdateItem visitors[visitor_id] if still at `version` (bumped here): tracking writes
    are computed from a read, so a racing write makes this False and the caller reads again."""
    still = Visitor.version == version if version else (Visitor.version.does_not_exist() | (Visitor.version == 0))
    return _conditional_update(Visitor(visitor_id), [*actions, Visitor.version.set(version + 1)],
                               Visitor.visitor_id.exists() & still)


def live_visitors(site_id: str, now_ms: int, limit: int) -> list[Visitor]:
    """Query visitors.live-index[site_id, active_until > now], most lasting first."""
    return list(Visitor.by_live.query(site_id, Visitor.active_until > now_ms, scan_index_forward=False,
                                      limit=limit))


def due_visitors(shard: str, now_ms: int) -> Any:
    """Query visitors.due-index[shard, active_until > now], all pages (an iterator)."""
    return Visitor.by_due.query(shard, Visitor.active_until > now_ms)


def followups_due(shard: str, now_ms: int) -> Any:
    """Query visitors.followup-index[shard, followup_at <= now], all pages (an iterator)."""
    return Visitor.by_followup.query(shard, Visitor.followup_at <= now_ms)


def verified_visitor(site_id: str, external_id: str) -> str | None:
    """Query visitors.external-index["site#external id"]: the verified visitor's id."""
    found = next(iter(Visitor.by_external.query(f"{site_id}#{external_id}", limit=1)), None)
    return found.visitor_id if found else None


def visitor_by_email(email_key: str) -> str | None:
    """Query visitors.email-index["<site>#<email>"] (visitors.email_key): the visitor with this email."""
    found = next(iter(Visitor.by_email.query(email_key, limit=1)), None)
    return found.visitor_id if found else None


def create_visitor(visitor: Visitor) -> bool:
    """PutItem visitors unless the id is taken."""
    return _conditional_put(visitor, Visitor.visitor_id.does_not_exist())


def put_visitor_event(event: VisitorEvent) -> None:
    """PutItem visitor_events."""
    event.save()


def visitor_events(visitor_id: str, cursor: str | None, limit: int) -> tuple[list[VisitorEvent], str | None]:
    """Query visitor_events[visitor_id], newest first, one page."""
    results = VisitorEvent.query(visitor_id, scan_index_forward=False, limit=limit,
                                 last_evaluated_key=_decode_cursor(cursor, "visitor_id", visitor_id))
    page = list(results)
    return page, _encode_cursor(results.last_evaluated_key)


def _conditional_put(item: Any, condition: Condition | None) -> bool:
    """PutItem with a condition; False when the condition does not hold."""
    try:
        item.save(condition=condition)
        return True
    except PutError as exc:
        if condition is not None and _condition_failed(exc):
            return False
        raise


def _conditional_update(item: Any, actions: list[Any], condition: Condition) -> bool:
    """UpdateItem with a condition; False when the condition does not hold. Every write of a
    dialog bumps its `version`: summaries pushed by concurrent handlers can arrive out of
    order, and clients keep the one with the highest version."""
    if isinstance(item, Dialog):
        actions = [*actions, Dialog.version.add(1)]
    try:
        item.update(actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if _condition_failed(exc):
            return False
        raise


# --- connections ----------------------------------------------------------------------------

class _ConnectionCache:
    """Who a connection is, kept per warm Lambda container.

    A connection's identity never changes and API Gateway routes no frame from a connection
    that is gone, so a cached record is never wrong about who sent a frame. Its `dialog_id`
    may lag behind another container's write; callers treat it as a hint and fall back to the
    visitor's record.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._items: OrderedDict[str, Connection] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, connection_id: str) -> Connection | None:
        with self._lock:
            found = self._items.get(connection_id)
            if found is not None:
                self._items.move_to_end(connection_id)
            return found

    def put(self, connection: Connection) -> None:
        with self._lock:
            self._items[connection.connection_id] = connection
            self._items.move_to_end(connection.connection_id)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def drop(self, connection_id: str) -> None:
        with self._lock:
            self._items.pop(connection_id, None)


_connections = _ConnectionCache()


def put_connection(connection: Connection) -> None:
    """PutItem connections."""
    connection.save()
    _connections.put(connection)


def get_connection(connection_id: str) -> Connection | None:
    """GetItem connections[connection_id], unless this container already knows it."""
    cached = _connections.get(connection_id)
    if cached is not None:
        return cached
    try:
        found = Connection.get(connection_id)
    except DoesNotExist:
        return None
    _connections.put(found)
    return found


def delete_connection(connection_id: str) -> None:
    """DeleteItem connections[connection_id]."""
    _connections.drop(connection_id)
    try:
        Connection(connection_id).delete()
    except DeleteError:
        pass


def set_connection_dialog(connection_id: str, dialog_id: str) -> None:
    """UpdateItem connections[connection_id] (only while it exists)."""
    cached = _connections.get(connection_id)
    if cached is not None:
        cached.dialog_id = dialog_id
    _conditional_update(Connection(connection_id), [Connection.dialog_id.set(dialog_id)],
                        Connection.connection_id.exists())


def channel_connections(channel: str) -> list[str]:
    """Query connections.channel-index[channel] (keys only)."""
    return [c.connection_id for c in Connection.by_channel.query(channel)]


# --- dialogs --------------------------------------------------------------------------------

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
    return dialog if _conditional_update(dialog, actions, Dialog.dialog_id.exists() & guard) else None


WAIT_SHARDS = 4


def wait_shard_of(dialog_id: str) -> str:
    return f"w{zlib.crc32(dialog_id.encode()) % WAIT_SHARDS}"


def _answered() -> list[Any]:
    return [Dialog.waiting_since.remove(), Dialog.wait_shard.remove(), Dialog.late.remove(),
            Dialog.offered_to.remove(), Dialog.offered_name.remove(), Dialog.offered_at.remove()]


def stop_waiting(dialog_id: str) -> None:
    """UpdateItem dialogs[dialog_id]: nothing waits for an answer (closed, or the bot answered)."""
    _conditional_update(Dialog(dialog_id), _answered(), Dialog.dialog_id.exists())


def start_waiting(dialog_id: str, at_ms: int) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: the wait for an answer starts now, unless it runs."""
    dialog = Dialog(dialog_id)
    actions = [Dialog.waiting_since.set(Dialog.waiting_since | at_ms),
               Dialog.wait_shard.set(Dialog.wait_shard | wait_shard_of(dialog_id))]
    return dialog if _conditional_update(dialog, actions, Dialog.dialog_id.exists()) else None


def waiting_dialogs(shard: str, since_ms: int) -> Any:
    """Query dialogs.wait-index[shard, waiting_since <= since_ms], all pages (an iterator)."""
    return Dialog.by_wait.query(shard, Dialog.waiting_since <= since_ms)


def mark_waiting(dialog: Dialog, actions: list[Any]) -> Dialog | None:
    """UpdateItem dialogs[dialog_id] while the same wait runs (nobody answered meanwhile):
    the answer-time flags (`late`, `offered_to`)."""
    updated = Dialog(dialog.dialog_id)
    still = Dialog.waiting_since == dialog.waiting_since
    return updated if _conditional_update(updated, actions, still) else None


def set_dialog_fields_if(dialog_id: str, actions: list[Any], condition: Condition) -> Dialog | None:
    """UpdateItem dialogs[dialog_id] when `condition` holds: the dialog as updated, or None."""
    dialog = Dialog(dialog_id)
    return dialog if _conditional_update(dialog, actions, condition) else None


def set_dialog_fields(dialog_id: str, actions: list[Any]) -> Dialog | None:
    """UpdateItem dialogs[dialog_id] (while it exists): fields no index key depends on."""
    dialog = Dialog(dialog_id)
    return dialog if _conditional_update(dialog, actions, Dialog.dialog_id.exists()) else None


def add_visitor_connection(dialog_id: str, visitor_id: str, connection_id: str) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: subscribes a visitor tab; None if not the visitor's."""
    dialog = Dialog(dialog_id)
    ok = _conditional_update(dialog, [Dialog.visitor_conns.add({connection_id})],
                             Dialog.visitor_id == visitor_id)
    return dialog if ok else None


def remove_visitor_connections(dialog_id: str, connection_ids: set[str]) -> None:
    """UpdateItem dialogs[dialog_id]: forgets visitor tabs that are gone."""
    _conditional_update(Dialog(dialog_id), [Dialog.visitor_conns.delete(connection_ids)],
                        Dialog.dialog_id.exists())


def change_dialog(dialog_id: str, site_id: str, rev: int, actions: list[Any]) -> Dialog | None:
    """UpdateItem dialogs[dialog_id] if it is the site's and still at `rev` (bumped here).

    For changes to status or assignee, which rebuild index keys: a racing change makes this
    return None and the caller reads again."""
    dialog = Dialog(dialog_id)
    still = Dialog.rev == rev if rev else (Dialog.rev.does_not_exist() | (Dialog.rev == 0))
    ok = _conditional_update(dialog, [*actions, Dialog.rev.set(rev + 1)],
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
    return dialog if _conditional_update(dialog, [action], condition) else None


def set_visitor_on_dialog(dialog_id: str, name: str, email: str | None) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: the visitor's name and email as the list shows them."""
    dialog = Dialog(dialog_id)
    email_action = Dialog.visitor_email.set(email) if email else Dialog.visitor_email.remove()
    ok = _conditional_update(dialog, [Dialog.visitor_name.set(name), email_action],
                             Dialog.dialog_id.exists())
    return dialog if ok else None


def set_dialog_segments(dialog_id: str, segments: set[str]) -> None:
    """UpdateItem dialogs[dialog_id]: the visitor's segments, for the list's filter."""
    action = Dialog.visitor_segments.set(segments) if segments else Dialog.visitor_segments.remove()
    _conditional_update(Dialog(dialog_id), [action], Dialog.dialog_id.exists())


def dialogs_in_status(site_id: str, status: str, cursor: str | None, limit: int,
                      tag: str | None = None, segment: str | None = None) -> tuple[list[Dialog], str | None]:
    """Query dialogs.site-status-index["site#status"], newest activity first, one page."""
    return _dialog_page(Dialog.by_site_status, "site_status", f"{site_id}#{status}", cursor, limit,
                        _list_filter(tag, segment))


def dialogs_of_assignee(site_id: str, status: str, assignee: str, cursor: str | None, limit: int,
                        tag: str | None = None, segment: str | None = None) -> tuple[list[Dialog], str | None]:
    """Query dialogs.assignee-index["site#status#operator"] ("-" for nobody), newest first."""
    partition = f"{site_id}#{status}#{assignee}"
    return _dialog_page(Dialog.by_assignee, "assignee_key", partition, cursor, limit,
                        _list_filter(tag, segment))


def _list_filter(tag: str | None, segment: str | None) -> Condition | None:
    """The list's FilterExpression: a tag on the dialog and/or its visitor in a segment."""
    condition = Dialog.tags.contains(tag) if tag else None
    if segment:
        in_segment = Dialog.visitor_segments.contains(segment)
        condition = in_segment if condition is None else condition & in_segment
    return condition


def visitor_dialogs(visitor_id: str, limit: int) -> list[Dialog]:
    """Query dialogs.visitor-index[visitor_id], oldest first."""
    return list(Dialog.by_visitor.query(visitor_id, limit=limit))


def _dialog_page(index: Any, hash_name: str, partition: str, cursor: str | None, limit: int,
                 filter_condition: Condition | None) -> tuple[list[Dialog], str | None]:
    """One page of an index, newest first. With a filter the Query filters, so it reads pages
    until the list is full or READ_PAGES were read; the cursor then resumes where it stopped."""
    results = index.query(
        partition, scan_index_forward=False,
        page_size=max(limit, FILTERED_PAGE) if filter_condition is not None else limit,
        filter_condition=filter_condition,
        last_evaluated_key=_decode_cursor(cursor, hash_name, partition),
    )
    pages = results.page_iter
    raw: list[dict[str, Any]] = []
    last: dict[str, Any] | None = None
    for number, page in enumerate(pages, 1):
        items = page.get("Items", [])
        if len(raw) + len(items) >= limit:
            taken = items[: limit - len(raw)]
            raw.extend(taken)
            last = pages.last_evaluated_key if len(taken) == len(items) else {
                name: taken[-1][name] for name in pages.key_names}
            break
        raw.extend(items)
        last = pages.last_evaluated_key
        if last is None or number >= READ_PAGES:
            break
    return [Dialog.from_raw_data(item) for item in raw], _encode_cursor(last)


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str | None, hash_name: str, partition: str) -> dict[str, Any] | None:
    """The key a cursor stands for; a cursor into another partition (forged) starts afresh."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if key[hash_name] != {"S": partition}:
            return None
    except (ValueError, TypeError, KeyError):
        return None
    return key


# --- email continuity: the mirror's schedule, read marks and the thread --------------------

def mark_read(dialog_id: str, visitor_id: str, seq: int) -> bool:
    """UpdateItem dialogs[dialog_id]: the visitor saw messages up to `seq` in the widget
    (only ever raised, never past the last message)."""
    not_yet = Dialog.visitor_read_seq.does_not_exist() | (Dialog.visitor_read_seq < seq)
    return _conditional_update(Dialog(dialog_id), [Dialog.visitor_read_seq.set(seq)],
                               (Dialog.visitor_id == visitor_id) & (Dialog.last_seq >= seq) & not_yet)


def schedule_mail(dialog_id: str, shard: str, due_ms: int) -> None:
    """UpdateItem dialogs[dialog_id]: the mirror looks at it once `due_ms` passes; each new
    answer moves it later (a debounce: quick answers make one email)."""
    _conditional_update(Dialog(dialog_id), [Dialog.mail_shard.set(shard), Dialog.mail_due_at.set(due_ms)],
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
    return _conditional_update(Dialog(dialog.dialog_id), [Dialog.mail_due_at.remove(), Dialog.mail_shard.remove()],
                               _unchanged(dialog))


def claim_mail(dialog: Dialog, seqs: list[int]) -> bool:
    """UpdateItem dialogs[dialog_id]: this run emails the answers `seqs` (the last one is the
    highest); False when another run did, or an answer came in since (the next run sends it all)."""
    actions = [Dialog.mailed_seq.set(seqs[-1]), Dialog.mailed_seqs.add(set(seqs)), Dialog.mail_due_at.remove(),
               Dialog.mail_shard.remove()]
    return _conditional_update(Dialog(dialog.dialog_id), actions, _unchanged(dialog))


def mail_sent(dialog_id: str, message_ref: str, subject: str) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: the thread's newest Message-ID (and its first and its
    subject, kept from the first email); the dialog as updated."""
    dialog = Dialog(dialog_id)
    actions = [Dialog.mail_last_ref.set(message_ref), Dialog.mail_failures.remove(),
               Dialog.mail_root_ref.set(Dialog.mail_root_ref | message_ref),
               Dialog.mail_subject.set(Dialog.mail_subject | subject)]
    return dialog if _conditional_update(dialog, actions, Dialog.dialog_id.exists()) else None


def mail_failed(dialog: Dialog, seqs: list[int], shard: str, retry_at_ms: int, failures: int) -> None:
    """UpdateItem dialogs[dialog_id]: sending `seqs` failed; they are due again at `retry_at_ms`
    (`mailed_seq` back to what it was), or given up on when `shard` is empty."""
    previous = (Dialog.mailed_seq.set(dialog.mailed_seq) if dialog.mailed_seq is not None
                else Dialog.mailed_seq.remove())
    actions = [previous, Dialog.mailed_seqs.delete(set(seqs)), Dialog.mail_failures.set(failures)]
    if shard:
        actions += [Dialog.mail_shard.set(shard), Dialog.mail_due_at.set(retry_at_ms)]
    _conditional_update(Dialog(dialog.dialog_id), actions, Dialog.dialog_id.exists())


def thread_reply(dialog_id: str, message_ref: str, visitor_email: str) -> None:
    """UpdateItem dialogs[dialog_id]: the visitor's email is the thread's newest (our next
    email answers it) and the dialog knows where the visitor writes from."""
    actions = [Dialog.mail_last_ref.set(message_ref), Dialog.mail_root_ref.set(Dialog.mail_root_ref | message_ref),
               Dialog.visitor_email.set(Dialog.visitor_email | visitor_email)]
    _conditional_update(Dialog(dialog_id), actions, Dialog.dialog_id.exists())


def get_mail_item(mail_key: str) -> MailItem | None:
    """GetItem mail[mail_key]."""
    try:
        return MailItem.get(mail_key)
    except DoesNotExist:
        return None


def put_mail_item(item: MailItem, only_new: bool = False) -> bool:
    """PutItem mail; with `only_new`, False when the key is taken (kept as it was)."""
    return _conditional_put(item, MailItem.mail_key.does_not_exist() if only_new else None)


# --- templates ------------------------------------------------------------------------------

def site_templates(site_id: str) -> list[Template]:
    """Query templates[site_id]."""
    return list(Template.query(site_id))


def put_template(template: Template, must_exist: bool) -> bool:
    """PutItem templates; with `must_exist`, only over a template that is there."""
    return _conditional_put(template, Template.template_id.exists() if must_exist else None)


def delete_template(site_id: str, template_id: str) -> None:
    """DeleteItem templates[site_id, template_id]."""
    Template(site_id, template_id).delete()


# --- messages -------------------------------------------------------------------------------

def insert_message(message: Message) -> bool:
    """PutItem messages, refused when this dialog already holds the client id (a retry)."""
    return _conditional_put(message, Message.client_id.does_not_exist())


def get_message(dialog_id: str, client_id: str) -> Message | None:
    """GetItem messages[dialog_id, client_id]."""
    try:
        return Message.get(dialog_id, client_id)
    except DoesNotExist:
        return None


def messages_after(dialog_id: str, after_seq: int, limit: int) -> list[Message]:
    """Query messages.seq-index[dialog_id, seq > after_seq], oldest first."""
    return list(Message.by_seq.query(dialog_id, Message.seq > after_seq, limit=limit))
