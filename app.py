"""Parley's Lambda entry points: wiring only. The product lives in chalicelib/.

Every Lambda function loads this file, so it imports only Chalice and Powertools at the top;
each handler imports what it needs when it first runs, so a function's cold start pays only
for its own modules (the websocket path never loads mail parsing, the bot or the deploy code).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from chalice import Chalice, Rate, Response
from chalice.app import CloudWatchEvent, Request, WebsocketEvent

if TYPE_CHECKING:
    from chalicelib.shared.errors import ParleyError
    from chalicelib.shared.pages import Page

app = Chalice(app_name="parley")
app.experimental_feature_flags.update(["WEBSOCKETS"])
logger = Logger(service="parley")


def _request() -> Request:
    request = app.current_request
    assert request is not None  # Chalice sets it before calling a route
    return request


def _raw_body() -> bytes:
    body = _request().raw_body
    return body.encode() if isinstance(body, str) else body


def _query() -> dict[str, str]:
    return dict(_request().query_params or {})


def _headers(headers: Mapping[str, str]) -> dict[str, str | list[str]]:
    return {name: value for name, value in headers.items()}


def _error_response(exc: ParleyError, headers: Mapping[str, str] | None = None) -> Response:
    return Response({"Code": exc.code, "Message": exc.message}, status_code=exc.status,
                    headers=_headers(headers or {}))


def _json_body() -> Any:
    from chalicelib.http import sessions

    return sessions.parse_body(_raw_body())


@app.route("/api/health", methods=["GET"])
def health() -> dict[str, bool]:
    return {"ok": True}


def _web_answer(section: str, name: str) -> Response:
    from chalicelib.http import web

    answer = web.answer(section, name, _request().headers.get("if-none-match"))
    return Response(answer.body, headers=_headers(answer.headers), status_code=answer.status)


@app.route("/widget/{name}", methods=["GET"])
def widget_file(name: str) -> Response:
    return _web_answer("widget", name)


@app.route("/console/{name}", methods=["GET"])
def console_file(name: str) -> Response:
    return _web_answer("console", name)


@app.route("/console", methods=["GET"])
def console_root() -> Response:
    from chalicelib.http import web

    location = web.console_location(_request().context.get("path", ""))
    return Response("", headers={"Location": location, "Cache-Control": "no-cache"}, status_code=302)


@app.route("/api/visitor/session", methods=["POST"], content_types=["application/json", "text/plain"])
def visitor_session() -> Any:
    from chalicelib.http import sessions
    from chalicelib.shared.errors import ParleyError

    request = _request()
    origin = request.headers.get("origin", "")
    cors = sessions.cors_headers(origin)
    try:
        client = sessions.client_of(request.headers, request.context.get("identity", {}).get("sourceIp", ""))
        return Response(sessions.visitor_session(_json_body(), origin, client), headers=_headers(cors))
    except ParleyError as exc:
        return _error_response(exc, cors)


@app.route("/api/operator/login", methods=["POST"])
def operator_login() -> Any:
    from chalicelib.http import sessions
    from chalicelib.shared.errors import ParleyError

    try:
        return sessions.operator_login(_json_body())
    except ParleyError as exc:
        return _error_response(exc)


@app.on_ws_connect()
def ws_connect(event: WebsocketEvent) -> dict[str, int]:
    from chalicelib import socket
    from chalicelib.realtime import delivery

    raw = event.to_dict()
    request = socket.ConnectRequest(
        connection_id=event.connection_id,
        query=raw.get("queryStringParameters") or {},
        headers=raw.get("headers") or {},
        source_ip=raw.get("requestContext", {}).get("identity", {}).get("sourceIp", ""),
    )
    return {"statusCode": socket.connect(request, delivery.endpoint_for(event.domain_name, event.stage))}


@app.on_ws_message()
def ws_message(event: WebsocketEvent) -> None:
    from chalicelib import socket
    from chalicelib.realtime import delivery

    endpoint = delivery.endpoint_for(event.domain_name, event.stage)
    socket.receive(event.connection_id, event.to_dict().get("body"), endpoint)


@app.on_ws_disconnect()
def ws_disconnect(event: WebsocketEvent) -> None:
    from chalicelib import socket
    from chalicelib.realtime import delivery

    socket.disconnect(event.connection_id, delivery.endpoint_for(event.domain_name, event.stage))


@app.schedule(Rate(1, unit=Rate.MINUTES), name="triggers")
def triggers_schedule(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.proactive import greetings
    from chalicelib.realtime import delivery

    return greetings.run_schedule(delivery.endpoint_for(None, None)).as_dict()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="mail")
def mail_schedule(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.mail import mirror
    from chalicelib.realtime import delivery

    return mirror.run_schedule(delivery.endpoint_for(None, None)).as_dict()


@app.schedule(Rate(1, unit=Rate.MINUTES), name="answer_time")
def answer_time_schedule(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.realtime import delivery
    from chalicelib.routing import answertime

    return answertime.run_schedule(delivery.endpoint_for(None, None)).as_dict()


@app.lambda_function(name="inbound_mail")
def inbound_mail(event: dict[str, Any], context: Any) -> dict[str, int]:
    from chalicelib.mail import inbound
    from chalicelib.shared.config import settings

    return inbound.handle(event, settings.ws_endpoint)


def _html(page: Page) -> Response:
    return Response(page.html, status_code=page.status,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"})


@app.route("/api/mail/unsubscribe", methods=["GET"])
def unsubscribe_page() -> Response:
    from chalicelib.mail import unsubscribe

    return _html(unsubscribe.confirm_page(_query().get("t")))


@app.route("/api/mail/unsubscribe", methods=["POST"],
           content_types=["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"])
def unsubscribe_post() -> Response:
    from chalicelib.http import sessions
    from chalicelib.mail import unsubscribe

    token = _query().get("t") or sessions.form_field(_raw_body(), "t")
    return _html(unsubscribe.unsubscribe(token))


@app.route("/api/rate", methods=["GET"])
def rate_page() -> Response:
    from chalicelib.routing import ratings

    query = _query()
    return _html(ratings.confirm_page(query.get("t"), query.get("s")))


@app.route("/api/rate", methods=["POST"],
           content_types=["application/x-www-form-urlencoded", "multipart/form-data", "text/plain"])
def rate_post() -> Response:
    from chalicelib.http import sessions
    from chalicelib.realtime import audience
    from chalicelib.routing import ratings
    from chalicelib.shared.config import settings

    body = _raw_body()
    token = _query().get("t") or sessions.form_field(body, "t")
    score, comment = sessions.form_field(body, "s"), sessions.form_field(body, "comment")
    if not settings.ws_endpoint:
        return _html(ratings.rate_from_email(token, score, comment, None))
    with audience.sending(settings.ws_endpoint) as outbox:
        page = ratings.rate_from_email(token, score, comment, outbox)
    return _html(page)
