"""REST routes through Chalice's own API Gateway emulation (``chalice.local.LocalGateway``).

This is the same object ``chalice local`` wires up, so route matching, the automatic
CORS preflight (OPTIONS) answers, the 403 "Missing Authentication Token" for unknown
routes and authorizers behave as ``chalice local`` (and API Gateway) do. We only swap
its single-threaded HTTP server for an ASGI endpoint and run the app on a thread pool.
"""
from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalice import Chalice
from chalice.config import Config
from chalice.local import LocalChalice, LocalGateway, LocalGatewayException
from starlette.requests import Request
from starlette.responses import Response

from .metrics import METRICS

_SKIPPED_RESPONSE_HEADERS = {"content-length", "connection", "transfer-encoding"}


def make_thread_safe(app: Chalice) -> None:
    """Give ``app.current_request`` a per-thread value, as ``chalice local`` does."""
    if isinstance(app, LocalChalice):
        return
    app.__class__ = type(f"Local{type(app).__name__}", (LocalChalice, type(app)), {})


def stage_prefix_for(app: Chalice, public_prefix: str = "/api") -> str:
    """The prefix to strip before routing: none when the app's routes already start with
    ``/api``; ``/api`` when they don't (the API Gateway stage name Chalice deploys to)."""
    has_prefix = any(path == public_prefix or path.startswith(public_prefix + "/") for path in app.routes)
    return "" if has_prefix else public_prefix


class RestBridge:
    """An ASGI endpoint that hands requests to ``LocalGateway.handle_request``."""

    def __init__(self, app: Chalice, executor: ThreadPoolExecutor, stage: str = "local") -> None:
        make_thread_safe(app)
        config = Config.create(chalice_stage=stage, app_name=app.app_name, lambda_timeout=30, lambda_memory_size=128)
        self._gateway = LocalGateway(app, config)
        self._executor = executor
        self._strip = stage_prefix_for(app)

    async def handle(self, request: Request) -> Response:
        METRICS.incr("rest_requests")
        # Routed as sent, percent-escapes kept, as API Gateway does: "%2F" does not split a segment.
        path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        if self._strip and (path == self._strip or path.startswith(self._strip + "/")):
            path = path[len(self._strip):] or "/"
        if request.url.query:
            path = f"{path}?{request.url.query}"
        body = await request.body()
        headers = dict(request.headers)
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                self._executor, self._gateway.handle_request, request.method, path, headers, body or None
            )
        except LocalGatewayException as exc:
            return _to_response(exc.CODE, dict(exc.headers), {}, exc.body)
        return _lambda_response(result)


def _lambda_response(result: dict[str, Any]) -> Response:
    body: Any | None = result.get("body")
    if result.get("isBase64Encoded") and body is not None:
        body = base64.b64decode(body)
    return _to_response(
        result["statusCode"], dict(result.get("headers") or {}), dict(result.get("multiValueHeaders") or {}), body
    )


def _to_response(status: int, headers: dict[str, Any], multi: dict[str, list[str]], body: Any) -> Response:
    content = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    response = Response(content=content, status_code=status)
    pairs: list[tuple[str, str]] = [(name, str(value)) for name, value in headers.items()]
    pairs += [(name, str(value)) for name, values in multi.items() for value in values]
    if content and not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("content-type", "application/json"))
    response.raw_headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in pairs
        if name.lower() not in _SKIPPED_RESPONSE_HEADERS
    ]
    return response
