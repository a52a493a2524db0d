"""One browser websocket, driven the way API Gateway drives a websocket API.

``$connect`` decides the handshake (2xx accepts, anything else refuses it with that HTTP
status); each inbound text frame becomes a ``$default`` invocation, run concurrently;
``$disconnect`` runs once the socket is closed by either side. Binary frames close the
socket with 1003 and frames over the size limit with 1009, as API Gateway does.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.websockets import WebSocket

from .connections import Connection, ConnectionRegistry
from .events import (
    ApiInfo,
    ConnectionInfo,
    connect_event,
    disconnect_event,
    disconnect_reason,
    message_event,
    new_connection_id,
    now_ms,
)
from .invoker import HandlerInvoker
from .metrics import METRICS

log = logging.getLogger("parley.local.websocket")

FRAME_LIMIT_BYTES = 32 * 1024  # API Gateway's websocket frame size limit


@dataclass(frozen=True)
class SocketSettings:
    api: ApiInfo = ApiInfo()
    max_frame_bytes: int = FRAME_LIMIT_BYTES


class WebSocketBridge:
    """The ``/ws`` endpoint: one call per browser connection."""

    def __init__(self, registry: ConnectionRegistry, invoker: HandlerInvoker, settings: SocketSettings) -> None:
        self._registry = registry
        self._invoker = invoker
        self._settings = settings
        self._tasks: set[asyncio.Task[Any]] = set()

    async def handle(self, websocket: WebSocket) -> None:
        await websocket.receive()  # the ASGI "websocket.connect" message
        conn = Connection(info=_connection_info(websocket), websocket=websocket)
        self._registry.add(conn)
        code, reason = 1006, ""
        try:
            status, body = await self._run_connect(conn)
            if not 200 <= status < 300:
                await self._refuse(conn, status, body)
                return
            code, reason = await self._serve(conn)
        finally:
            self._registry.remove(conn.info.connection_id)
        await self._disconnect(conn, code, reason)

    async def _refuse(self, conn: Connection, status: int, body: bytes) -> None:
        METRICS.incr("ws_refused")
        try:
            await conn.websocket.send_denial_response(Response(content=body, status_code=status))
        except Exception as exc:  # the peer gave up waiting
            log.debug("refusing %s failed: %r", conn.info.connection_id, exc)

    async def _serve(self, conn: Connection) -> tuple[int, str]:
        """Accept, then pump frames until the socket closes (close code and reason)."""
        try:
            await conn.websocket.accept()
            conn.open = True
            METRICS.incr("ws_connects")
            return await self._pump(conn)
        except Exception as exc:  # the peer vanished mid-handshake or mid-read
            log.debug("connection %s broke: %r", conn.info.connection_id, exc)
            conn.open = False
            return 1006, ""

    async def _run_connect(self, conn: Connection) -> tuple[int, bytes]:
        if not self._invoker.handles("$connect"):
            return 200, b""
        scope = conn.websocket.scope
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        event = connect_event(
            self._settings.api,
            conn.info,
            headers,
            scope.get("query_string", b"").decode("latin-1"),
            port=(scope.get("server") or ("", 80))[1],
            scheme=scope.get("scheme", "ws"),
        )
        try:
            result = await self._invoker.invoke("$connect", event)
        except Exception:
            return 502, b'{"message": "Internal server error"}'  # a failed Lambda: Bad Gateway
        status = int(result.get("statusCode", 200))
        body = result.get("body") or b""
        return (status if 100 <= status < 600 else 500), (body.encode() if isinstance(body, str) else body)

    async def _pump(self, conn: Connection) -> tuple[int, str]:
        """Receive frames until the socket closes; returns the close code and reason."""
        while True:
            message = await conn.websocket.receive()
            if message["type"] == "websocket.disconnect":
                conn.open = False
                return int(message.get("code") or 1005), message.get("reason") or ""
            if conn.open:
                await self._on_frame(conn, message)

    async def _on_frame(self, conn: Connection, message: Mapping[str, Any]) -> None:
        text = message.get("text")
        if text is None:
            await self._close(conn, 1003, "Binary frames are not supported")
        elif len(text.encode("utf-8")) > self._settings.max_frame_bytes:
            await self._close(conn, 1009, "Message too big")
        else:
            conn.touch()
            METRICS.incr("ws_messages")
            self._spawn(self._message(conn, text))

    async def _close(self, conn: Connection, code: int, reason: str) -> None:
        conn.open = False
        conn.closed_by_server = True
        await conn.websocket.close(code, reason)

    async def _message(self, conn: Connection, text: str) -> None:
        if not self._invoker.handles("$default"):
            return
        event = message_event(self._settings.api, conn.info, text)
        try:
            await self._invoker.invoke("$default", event)
        except Exception:
            error = {
                "message": "Internal server error",
                "connectionId": conn.info.connection_id,
                "requestId": event["requestContext"]["requestId"],
            }
            await self._registry.send(conn.info.connection_id, json.dumps(error).encode())

    async def _disconnect(self, conn: Connection, code: int, reason: str) -> None:
        METRICS.incr("ws_disconnects")
        if not self._invoker.handles("$disconnect"):
            return
        text = disconnect_reason(code, reason, conn.closed_by_server)
        try:
            await self._invoker.invoke("$disconnect", disconnect_event(self._settings.api, conn.info, code, text))
        except Exception:
            pass  # logged by the invoker; nobody is left to tell

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _connection_info(websocket: WebSocket) -> ConnectionInfo:
    client = websocket.scope.get("client") or ("127.0.0.1", 0)
    server = websocket.scope.get("server") or ("127.0.0.1", 80)
    return ConnectionInfo(
        connection_id=new_connection_id(),
        connected_at=now_ms(),
        domain_name=websocket.headers.get("host") or f"{server[0]}:{server[1]}",
        source_ip=client[0],
        user_agent=websocket.headers.get("user-agent", ""),
    )
