"""A small asyncio client of Parley's REST and websocket protocol, for tests and benchmarks.

It speaks to a running stack exactly as the widget and console do: real HTTP, real websockets.
"""
from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import websockets
from websockets.typing import Origin


def post_json(url: str, body: Any, origin: str | None = None) -> tuple[int, Any]:
    """Blocking POST of JSON; returns (status, decoded body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} | ({"Origin": origin} if origin else {})
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"null")
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def new_client_id() -> str:
    return uuid.uuid4().hex


class Client:
    """One websocket connection; every received frame is kept with its arrival time."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[tuple[float, dict[str, Any]]] = []
        self._arrived = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, ws_url: str, token: str, origin: str) -> Client:
        url = f"{ws_url}?v=1&token={urllib.parse.quote(token, safe='')}"
        ws = await websockets.connect(url, origin=Origin(origin), max_size=2**20, open_timeout=20)
        return cls(ws)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                async with self._arrived:
                    self.frames.append((time.perf_counter(), frame))
                    self._arrived.notify_all()
        except websockets.ConnectionClosed:
            pass
        finally:
            async with self._arrived:
                self._arrived.notify_all()

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0,
                       start: int = 0) -> dict[str, Any]:
        """The first frame (from index `start`) that matches, waiting up to `timeout` seconds."""
        async def found() -> dict[str, Any]:
            async with self._arrived:
                while True:
                    for _, frame in self.frames[start:]:
                        if match(frame):
                            return frame
                    if self._reader.done():
                        raise ConnectionError("connection closed while waiting")
                    await self._arrived.wait()
        return await asyncio.wait_for(found(), timeout)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [frame for _, frame in self.frames if frame.get("type") == kind]

    async def request(self, frame: dict[str, Any], reply_type: str, timeout: float = 10.0) -> dict[str, Any]:
        """Sends a frame and waits for the next frame of `reply_type` (or an error)."""
        start = len(self.frames)
        await self.send(frame)
        return await self.wait_for(lambda f: f.get("type") in (reply_type, "error"), timeout, start)

    async def message(self, text: str, dialog_id: str | None = None, client_id: str | None = None,
                      timeout: float = 10.0) -> dict[str, Any]:
        """Sends a message and returns its ack (or the error frame about it)."""
        client_id = client_id or new_client_id()
        frame = {"type": "message", "client_id": client_id, "text": text}
        if dialog_id:
            frame["dialog_id"] = dialog_id
        start = len(self.frames)
        await self.send(frame)
        return await self.wait_for(
            lambda f: f.get("type") in ("ack", "error") and f.get("client_id") == client_id, timeout, start)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.gather(self._reader, return_exceptions=True)


async def visitor_session(parley_url: str, site_id: str, origin: str, token: str | None = None) -> dict:
    body = {"site_id": site_id} | ({"token": token} if token else {})
    status, reply = await asyncio.to_thread(post_json, f"{parley_url}/api/visitor/session", body, origin)
    if status != 200:
        raise RuntimeError(f"visitor session refused: {status} {reply}")
    return reply


async def operator_login(parley_url: str, email: str, password: str) -> dict:
    status, reply = await asyncio.to_thread(
        post_json, f"{parley_url}/api/operator/login", {"email": email, "password": password}, parley_url)
    if status != 200:
        raise RuntimeError(f"operator login refused: {status} {reply}")
    return reply
