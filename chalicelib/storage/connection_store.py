"""The connections table: who each websocket is, and who listens on a channel."""
from __future__ import annotations

import threading
from collections import OrderedDict

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.storage.base import conditional_update, table_meta


class ConnectionChannelIndex(GlobalSecondaryIndex):
    """Connections listening on a channel: `ops#<site_id>` or `vis#<visitor_id>`."""

    class Meta:
        index_name = "channel-index"
        projection = KeysOnlyProjection()

    channel = UnicodeAttribute(hash_key=True)


class Connection(Model):
    Meta = table_meta("connections")
    connection_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    site_id = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    channel = UnicodeAttribute()
    dialog_id = UnicodeAttribute(null=True)
    connected_at = NumberAttribute()
    expires_at = NumberAttribute()  # TTL attribute (epoch seconds)
    by_channel = ConnectionChannelIndex()


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
    conditional_update(Connection(connection_id), [Connection.dialog_id.set(dialog_id)],
                        Connection.connection_id.exists())


def channel_connections(channel: str) -> list[str]:
    """Query connections.channel-index[channel] (keys only)."""
    return [c.connection_id for c in Connection.by_channel.query(channel)]
