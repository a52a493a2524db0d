"""Finding a Chalice app's websocket handlers and invoking them like Lambda does.

Handlers are synchronous (boto3, pynamodb), so each invocation runs on a worker thread of
a shared pool; the event loop stays free to serve the Management API calls those handlers
make. Frames of one connection may be handled concurrently, as on AWS.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

from chalice import Chalice
from chalice.local import LambdaContext

from .metrics import METRICS, Metrics

log = logging.getLogger("parley.local.invoker")

LambdaHandler = Callable[[dict[str, Any], Any], Any]
HandlerLookup = Callable[[Any], LambdaHandler]  # websocket handler config -> callable

# The Lambda function names Chalice deploys for the three websocket routes.
FUNCTION_SUFFIX = {
    "$connect": "websocket_connect",
    "$default": "websocket_message",
    "$disconnect": "websocket_disconnect",
}


def app_handler_lookup(app: Chalice) -> HandlerLookup:
    """The wrapped handler Chalice registered (what Lambda would call), by config name."""
    return lambda config: app.handler_map[config.name]


def module_handler_lookup(module: ModuleType) -> HandlerLookup:
    """Resolve ``handler_string`` ("app.ws_connect") against ``module`` for the app's own
    handlers and by import for blueprints, as Lambda's ``app.ws_connect`` handler setting does."""

    def lookup(config: Any) -> LambdaHandler:
        module_name, _, attr = config.handler_string.rpartition(".")
        owner = module if module_name == "app" else importlib.import_module(module_name)
        return getattr(owner, attr)

    return lookup


def websocket_handlers(app: Chalice, lookup: HandlerLookup | None = None) -> dict[str, LambdaHandler]:
    """route key ($connect, $default, $disconnect) -> Lambda-style callable."""
    resolve = lookup or app_handler_lookup(app)
    return {route_key: resolve(config) for route_key, config in app.websocket_handlers.items()}


def normalize_response(result: Any) -> dict[str, Any]:
    """A handler's return value as API Gateway reads it (no value means 200)."""
    if isinstance(result, dict):
        return {"statusCode": 200, **result}
    return {"statusCode": 200}


class HandlerInvoker:
    """Invokes websocket handlers on a thread pool, counting invocations and errors."""

    def __init__(
        self,
        handlers: Mapping[str, LambdaHandler],
        executor: ThreadPoolExecutor,
        function_prefix: str = "parley-local",
        timeout_s: int = 30,
        metrics: Metrics = METRICS,
    ) -> None:
        self._handlers = dict(handlers)
        self._executor = executor
        self._prefix = function_prefix
        self._timeout_ms = timeout_s * 1000
        self._metrics = metrics

    def handles(self, route_key: str) -> bool:
        return route_key in self._handlers

    async def invoke(self, route_key: str, event: dict[str, Any]) -> dict[str, Any]:
        """Run the handler for ``route_key``; exceptions propagate (a failed invocation)."""
        handler = self._handlers[route_key]
        loop = asyncio.get_running_loop()
        self._metrics.incr(f"invocations:{route_key}")
        try:
            result = await loop.run_in_executor(self._executor, self._call, handler, route_key, event)
        except Exception:
            self._metrics.incr("handler_errors")
            log.exception("websocket handler %s failed", route_key)
            raise
        return normalize_response(result)

    def _call(self, handler: LambdaHandler, route_key: str, event: dict[str, Any]) -> Any:
        """On a worker thread: one Lambda invocation (its duration counts, not the queueing)."""
        name = f"{self._prefix}-{FUNCTION_SUFFIX.get(route_key, 'websocket_message')}"
        context = LambdaContext(function_name=name, memory_size=128, max_runtime_ms=self._timeout_ms)
        started = time.perf_counter()
        try:
            return handler(event, context)
        finally:
            self._metrics.incr("handler_ms_total", int((time.perf_counter() - started) * 1000))
