"""Drives app.py's websocket and REST handlers in process against moto, as API Gateway would.

Frames the handlers post go through boto3's apigatewaymanagementapi client to moto, which
keeps them per connection; `frames()` reads what a connection received since the last read.
"""
from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import quote

from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends
from moto.core import DEFAULT_ACCOUNT_ID

SHOP = "https://shop.example"
CONSOLE = "https://console.example"
DOMAIN = "abc123.execute-api.us-east-1.amazonaws.com"


def _context(route: str, event_type: str, connection_id: str) -> dict[str, Any]:
    return {
        "routeKey": route, "eventType": event_type, "connectionId": connection_id,
        "domainName": DOMAIN, "stage": "test", "apiId": "abc123",
        "identity": {"sourceIp": "127.0.0.1"}, "requestTimeEpoch": 0,
    }


class MotoChat:
    def __init__(self) -> None:
        import app  # imported late: settings come from the test environment

        self.app = app
        self._read: dict[str, int] = {}

    # --- REST ----------------------------------------------------------------------------
    def visitor_token(self, site_id: str = "demo", origin: str = SHOP, token: str | None = None,
                      page: dict | None = None, headers: dict | None = None, source_ip: str = "127.0.0.1") -> dict:
        body = {"site_id": site_id} | ({"token": token} if token else {}) | ({"page": page} if page else {})
        return self.rest("POST", "/api/visitor/session", body, origin, headers=headers, source_ip=source_ip)

    def operator_token(self, email: str = "ann@demo.shop", password: str = "pw-ann-123") -> dict:
        return self.rest("POST", "/api/operator/login", {"email": email, "password": password}, CONSOLE)

    def rest(self, method: str, path: str, body: Any, origin: str = SHOP,
             content_type: str = "application/json", headers: dict | None = None,
             source_ip: str = "127.0.0.1") -> dict:
        event = {
            "resource": path, "path": path, "httpMethod": method,
            "headers": {"content-type": content_type, "origin": origin, "host": "api.example", **(headers or {})},
            "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
            "pathParameters": None,
            "stageVariables": None, "isBase64Encoded": False,
            "body": body if isinstance(body, str) else json.dumps(body),
            "requestContext": {"resourcePath": path, "httpMethod": method, "stage": "test",
                               "identity": {"sourceIp": source_ip}},
        }
        response = self.app.app(event, None)
        return {"status": response["statusCode"], "body": json.loads(response["body"] or "null"),
                "headers": response.get("headers", {})}

    # --- websocket -----------------------------------------------------------------------
    def connect(self, token: str | None, origin: str = SHOP, version: str = "1", source_ip: str = "127.0.0.1",
                headers: dict | None = None) -> tuple[int, str]:
        connection_id = secrets.token_urlsafe(9) + "="
        query = {"v": version} | ({"token": token} if token is not None else {})
        context = _context("$connect", "CONNECT", connection_id)
        context["identity"] = {"sourceIp": source_ip}
        event = {"headers": {"Origin": origin, **(headers or {})}, "queryStringParameters": query,
                 "requestContext": context, "isBase64Encoded": False}
        return self.app.ws_connect(event, None)["statusCode"], connection_id

    def send(self, connection_id: str, frame: Any) -> list[dict]:
        body = frame if isinstance(frame, str) else json.dumps(frame)
        event = {"body": body, "requestContext": _context("$default", "MESSAGE", connection_id),
                 "isBase64Encoded": False}
        self.app.ws_message(event, None)
        return self.frames(connection_id)

    def disconnect(self, connection_id: str) -> None:
        event = {"requestContext": _context("$disconnect", "DISCONNECT", connection_id)}
        self.app.ws_disconnect(event, None)

    def frames(self, connection_id: str) -> list[dict]:
        backend = apigatewaymanagementapi_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        key = quote(connection_id, safe="")  # moto keeps the id as it appears in the URL
        raw = backend.connections[key].data.decode() if key in backend.connections else ""
        start = self._read.get(connection_id, 0)
        self._read[connection_id] = len(raw)
        return _split_json(raw[start:])


def _split_json(text: str) -> list[dict]:
    decoder, frames, index = json.JSONDecoder(), [], 0
    while index < len(text):
        frame, index = decoder.raw_decode(text, index)
        frames.append(frame)
    return frames
