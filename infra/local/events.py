"""The Lambda events API Gateway sends for a websocket API.

Shapes follow what API Gateway (REST-style websocket integration, payload v1) delivers:
``$connect`` carries headers, multiValueHeaders and the query string (only when there is
one); ``$default`` carries the text frame as ``body``; ``$disconnect`` carries the close
status. Header names keep the casing a browser sends (``Origin``, ``User-Agent``), as on
AWS, so handlers must look headers up case-insensitively.
"""
from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class ApiInfo:
    """What identifies the websocket API in every event."""

    api_id: str = "local"
    stage: str = "local"


@dataclass(frozen=True)
class ConnectionInfo:
    """Per-connection facts that every event of that connection repeats."""

    connection_id: str
    connected_at: int  # epoch milliseconds
    domain_name: str
    source_ip: str
    user_agent: str


def now_ms() -> int:
    return int(time.time() * 1000)


def _random_id() -> str:
    """16 characters ending in '=' like API Gateway's ids (base64 of 11 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(11)).decode("ascii")


def new_connection_id() -> str:
    return _random_id()


def clf_time(epoch_ms: int) -> str:
    """Common Log Format time, as in ``requestContext.requestTime``."""
    t = time.gmtime(epoch_ms / 1000)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def canonical_header_name(name: str) -> str:
    """``sec-websocket-key`` -> ``Sec-WebSocket-Key`` (ASGI servers lower-case names)."""
    titled = "-".join(part[:1].upper() + part[1:] for part in name.split("-"))
    return titled.replace("Websocket", "WebSocket")


def _request_context(api: ApiInfo, conn: ConnectionInfo, route_key: str, event_type: str) -> dict[str, Any]:
    request_id = _random_id()
    epoch = now_ms()
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": clf_time(epoch),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": conn.connected_at,
        "requestTimeEpoch": epoch,
        "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
        "requestId": request_id,
        "domainName": conn.domain_name,
        "connectionId": conn.connection_id,
        "apiId": api.api_id,
    }


def _headers(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for raw_name, value in pairs:
        name = canonical_header_name(raw_name)
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _query(query_string: str) -> dict[str, Any]:
    pairs = parse_qsl(query_string, keep_blank_values=True)
    if not pairs:
        return {}  # API Gateway omits both keys when there is no query string
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    return {
        "queryStringParameters": {key: values[-1] for key, values in multi.items()},
        "multiValueQueryStringParameters": multi,
    }


def connect_event(
    api: ApiInfo, conn: ConnectionInfo, headers: Iterable[tuple[str, str]], query_string: str, port: int, scheme: str
) -> dict[str, Any]:
    """The ``$connect`` event: the handshake's headers and query string."""
    added = [
        ("X-Amzn-Trace-Id", f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"),
        ("X-Forwarded-For", conn.source_ip),
        ("X-Forwarded-Port", str(port)),
        ("X-Forwarded-Proto", "https" if scheme in ("https", "wss") else "http"),
    ]
    single, multi = _headers([*headers, *added])
    event: dict[str, Any] = {"headers": single, "multiValueHeaders": multi}
    event.update(_query(query_string))
    event["requestContext"] = _request_context(api, conn, "$connect", "CONNECT")
    event["isBase64Encoded"] = False
    return event


def message_event(api: ApiInfo, conn: ConnectionInfo, body: str, route_key: str = "$default") -> dict[str, Any]:
    """A ``$default`` (or custom route) event for one inbound text frame."""
    context = _request_context(api, conn, route_key, "MESSAGE")
    context["messageId"] = _random_id()
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_reason(code: int, reason: str, by_server: bool) -> str:
    """Reason text in the spirit of what API Gateway reports."""
    if reason:
        return reason
    if code == 1005:
        return "Client-side close frame status not set"
    if code == 1006:
        return "Connection closed abnormally"
    return "Connection closed by server" if by_server else f"Client-side close frame status code {code}"


def disconnect_event(api: ApiInfo, conn: ConnectionInfo, code: int, reason: str) -> dict[str, Any]:
    """The ``$disconnect`` event (best effort on AWS too; the socket is already gone)."""
    single = {"Host": conn.domain_name, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    multi = {name: [value] for name, value in single.items()}
    context = _request_context(api, conn, "$disconnect", "DISCONNECT")
    context["disconnectStatusCode"] = code
    context["disconnectReason"] = reason
    return {"headers": single, "multiValueHeaders": multi, "requestContext": context, "isBase64Encoded": False}
