"""Access patterns. Each function is one DynamoDB request unless its docstring says otherwise."""
from __future__ import annotations

import base64
import json
import threading
from collections import OrderedDict
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.storage.models import Connection, Dialog, Message, Operator, Site, Visitor


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


def claim_open_dialog(visitor_id: str, dialog_id: str) -> bool:
    """UpdateItem visitors[visitor_id]: sets open_dialog_id unless another tab already did."""
    try:
        Visitor(visitor_id).update(
            actions=[Visitor.open_dialog_id.set(dialog_id)],
            condition=Visitor.visitor_id.exists() & Visitor.open_dialog_id.does_not_exist(),
        )
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
    try:
        Connection(connection_id).update(actions=[Connection.dialog_id.set(dialog_id)],
                                         condition=Connection.connection_id.exists())
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise


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
                   at_ms: int) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: allocates the next seq and updates the summary.

    `guard` states who may write (the dialog's visitor, or an operator of its site). Returns the
    dialog as updated (its `last_seq` is the new message's seq), or None when the dialog does
    not exist or the guard fails: the caller cannot tell the two apart, on purpose.
    """
    dialog = Dialog(dialog_id)
    try:
        dialog.update(
            actions=[
                Dialog.last_seq.add(1),
                Dialog.last_activity.set(at_ms),
                Dialog.last_text.set(preview),
                Dialog.last_author.set(author),
            ],
            condition=Dialog.dialog_id.exists() & guard,
        )
    except UpdateError as exc:
        if _condition_failed(exc):
            return None
        raise
    return dialog


def add_visitor_connection(dialog_id: str, visitor_id: str, connection_id: str) -> Dialog | None:
    """UpdateItem dialogs[dialog_id]: subscribes a visitor tab; None if not the visitor's."""
    dialog = Dialog(dialog_id)
    try:
        dialog.update(actions=[Dialog.visitor_conns.add({connection_id})],
                      condition=Dialog.visitor_id == visitor_id)
    except UpdateError as exc:
        if _condition_failed(exc):
            return None
        raise
    return dialog


def remove_visitor_connections(dialog_id: str, connection_ids: set[str]) -> None:
    """UpdateItem dialogs[dialog_id]: forgets visitor tabs that are gone."""
    try:
        Dialog(dialog_id).update(actions=[Dialog.visitor_conns.delete(connection_ids)],
                                 condition=Dialog.dialog_id.exists())
    except UpdateError as exc:
        if not _condition_failed(exc):
            raise


def dialogs_in_status(site_id: str, status: str, cursor: str | None,
                      limit: int) -> tuple[list[Dialog], str | None]:
    """Query dialogs.site-status-index[site#status], newest activity first, one page."""
    partition = f"{site_id}#{status}"
    results = Dialog.by_site_status.query(
        partition, scan_index_forward=False, limit=limit,
        last_evaluated_key=_decode_cursor(cursor, partition),
    )
    page = list(results)
    return page, _encode_cursor(results.last_evaluated_key)


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str | None, partition: str) -> dict[str, Any] | None:
    """The key a cursor stands for; a cursor into another partition (forged) starts afresh."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if key["site_status"] != {"S": partition}:
            return None
    except (ValueError, TypeError, KeyError):
        return None
    return key


# --- messages -------------------------------------------------------------------------------

def insert_message(message: Message) -> bool:
    """PutItem messages, refused when this dialog already holds the client id (a retry)."""
    try:
        message.save(condition=Message.client_id.does_not_exist())
        return True
    except PutError as exc:
        if _condition_failed(exc):
            return False
        raise


def get_message(dialog_id: str, client_id: str) -> Message | None:
    """GetItem messages[dialog_id, client_id]."""
    try:
        return Message.get(dialog_id, client_id)
    except DoesNotExist:
        return None


def messages_after(dialog_id: str, after_seq: int, limit: int) -> list[Message]:
    """Query messages.seq-index[dialog_id, seq > after_seq], oldest first."""
    return list(Message.by_seq.query(dialog_id, Message.seq > after_seq, limit=limit))
