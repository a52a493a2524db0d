"""Several uvicorn servers in one event loop, on sockets bound up front.

Binding first (port 0 = any free port) lets the caller learn every URL before anything
is imported or served, with no race for the port. Signals are left to the caller:
uvicorn's own per-server signal capture would make the servers fight over SIGINT.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp

WS_MAX_SIZE = 256 * 1024  # transport cap; the gateway itself closes frames over 32 KB with 1009


def bind_socket(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto
    # says TCP, and without it every keep-alive request (boto3's posts) stalls 40 ms on Nagle.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # "in use" can come here: two SO_REUSEADDR sockets may bind, one listen
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


class _DenialNoiseFilter(logging.Filter):
    """uvicorn's websockets-sansio protocol logs this after a correctly sent denial response
    (the ``$connect`` refusal path); the gateway never returns without accepting otherwise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


def _quiet_denials() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DenialNoiseFilter) for f in logger.filters):
        logger.addFilter(_DenialNoiseFilter())


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Listener:
    name: str
    app: ASGIApp
    sock: socket.socket


class ServerGroup:
    def __init__(self, listeners: list[Listener], log_level: str = "warning", access_log: bool = False) -> None:
        self._entries = [(self._server(item.app, log_level, access_log), item.sock) for item in listeners]
        _quiet_denials()  # after uvicorn.Config, which (re)configures its loggers

    @staticmethod
    def _server(app: ASGIApp, log_level: str, access_log: bool) -> _Server:
        config: Any = uvicorn.Config(
            app,
            lifespan="off",
            log_level=log_level,
            access_log=access_log,
            ws_max_size=WS_MAX_SIZE,
            timeout_graceful_shutdown=5,
        )
        return _Server(config)

    @property
    def started(self) -> bool:
        return all(server.started for server, _ in self._entries)

    @property
    def stopping(self) -> bool:
        return any(server.should_exit for server, _ in self._entries)

    async def serve(self) -> None:
        """Serve until :meth:`stop`; if one server ends, the others are stopped too."""
        tasks = [asyncio.ensure_future(server.serve(sockets=[sock])) for server, sock in self._entries]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        self.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                raise task.exception()  # type: ignore[misc]

    async def wait_started(self, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.started:
            if self.stopping or asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("servers did not start")
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        """Graceful: stop accepting, let open requests and sockets finish (up to 5 s)."""
        for server, _ in self._entries:
            server.should_exit = True

    def force_stop(self) -> None:
        """A second Ctrl-C: do not wait for open connections."""
        for server, _ in self._entries:
            server.should_exit = True
            server.force_exit = True
