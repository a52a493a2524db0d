"""The open websocket connections, keyed by connectionId.

Shared by the public gateway (which adds and removes sockets) and the Management API
(which posts to, inspects and closes them). All methods run on the event loop thread.
A connection is only reachable once ``$connect`` accepted it, as on API Gateway:
posting to it during ``$connect`` gets 410 Gone.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from starlette.websockets import WebSocket

from .events import ConnectionInfo, now_ms

log = logging.getLogger("parley.local.connections")


@dataclass
class Connection:
    info: ConnectionInfo
    websocket: WebSocket
    last_active_at: int = field(default_factory=now_ms)
    open: bool = False
    closed_by_server: bool = False

    def touch(self) -> None:
        self.last_active_at = now_ms()


class ConnectionRegistry:
    def __init__(self) -> None:
        self._connections: dict[str, Connection] = {}

    def __len__(self) -> int:
        return sum(1 for conn in self._connections.values() if conn.open)

    def add(self, conn: Connection) -> None:
        self._connections[conn.info.connection_id] = conn

    def remove(self, connection_id: str) -> None:
        self._connections.pop(connection_id, None)

    def get(self, connection_id: str) -> Connection | None:
        """The connection if it is open (accepted and not closed), else None."""
        conn = self._connections.get(connection_id)
        return conn if conn is not None and conn.open else None

    async def send(self, connection_id: str, data: bytes) -> bool:
        """Send ``data`` as one frame (text if UTF-8); False when the connection is gone."""
        conn = self.get(connection_id)
        if conn is None:
            return False
        try:
            await _send_frame(conn.websocket, data)
        except Exception as exc:  # the socket closed under us: that is Gone
            log.debug("send to %s failed: %r", connection_id, exc)
            conn.open = False
            return False
        conn.touch()
        return True

    async def close(self, connection_id: str, code: int = 1000) -> bool:
        """Close the socket from the server side; False when already gone."""
        conn = self.get(connection_id)
        if conn is None:
            return False
        conn.open = False
        conn.closed_by_server = True
        try:
            await conn.websocket.close(code)
        except Exception as exc:
            log.debug("close of %s failed: %r", connection_id, exc)
        return True


async def _send_frame(websocket: WebSocket, data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        await websocket.send_bytes(data)
    else:
        await websocket.send_text(text)
