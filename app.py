"""Parley's Lambda entry points: wiring only. The product lives in chalicelib/."""
from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from chalice import Chalice, Response
from chalice.app import BadRequestError, WebsocketEvent

from chalicelib import chat, delivery, sessions
from chalicelib.errors import ParleyError

app = Chalice(app_name="parley")
app.experimental_feature_flags.update(["WEBSOCKETS"])
logger = Logger(service="parley")


def _error_response(exc: ParleyError) -> Response:
    return Response({"Code": exc.code, "Message": exc.message}, status_code=exc.status)


def _json_body() -> Any:
    try:
        return app.current_request.json_body
    except BadRequestError:
        return None


@app.route("/api/health", methods=["GET"])
def health() -> dict[str, bool]:
    return {"ok": True}


@app.route("/api/visitor/session", methods=["POST"], cors=True)
def visitor_session() -> Any:
    origin = app.current_request.headers.get("origin", "")
    try:
        return sessions.visitor_session(_json_body(), origin)
    except ParleyError as exc:
        return _error_response(exc)


@app.route("/api/operator/login", methods=["POST"])
def operator_login() -> Any:
    try:
        return sessions.operator_login(_json_body())
    except ParleyError as exc:
        return _error_response(exc)


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict[str, int]:
    raw = event.to_dict()
    request = chat.ConnectRequest(
        connection_id=event.connection_id,
        query=raw.get("queryStringParameters") or {},
        headers=raw.get("headers") or {},
    )
    return {"statusCode": chat.connect(request)}


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> None:
    endpoint = delivery.endpoint_for(event.domain_name, event.stage)
    chat.receive(event.connection_id, event.to_dict().get("body"), endpoint)


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> None:
    chat.disconnect(event.connection_id)
