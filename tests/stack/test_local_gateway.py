"""The local API Gateway stand-in, against a throwaway Chalice app, over real sockets.

Nothing here depends on Parley's own ``app.py``: the app below echoes frames back through
the Management API with boto3, exactly as Parley's handlers push frames.
"""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from chalice import Chalice
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from infra.local.gateway import GatewaySettings, create_apps
from infra.local.invoker import module_handler_lookup
from infra.local.metrics import install_botocore_counter
from infra.local.servers import Listener, ServerGroup, bind_socket, bound_port

# --- the throwaway app --------------------------------------------------------------

app = Chalice(app_name="gwtest")
EVENTS: list[dict[str, Any]] = []
MGMT: dict[str, str] = {}


def _events(route_key: str, connection_id: str | None = None) -> list[dict[str, Any]]:
    return [
        e
        for e in list(EVENTS)
        if e["requestContext"]["routeKey"] == route_key
        and (connection_id is None or e["requestContext"]["connectionId"] == connection_id)
    ]


def _mgmt_client() -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=MGMT["endpoint"], region_name="us-east-1")


@app.on_ws_connect()
def ws_connect(event: Any) -> dict[str, Any]:
    EVENTS.append(event.to_dict())
    query = event.to_dict().get("queryStringParameters") or {}
    if "crash" in query:
        raise RuntimeError("connect handler crashed")
    return {"statusCode": int(query.get("refuse", 200))}


@app.on_ws_message()
def ws_message(event: Any) -> None:
    EVENTS.append(event.to_dict())
    body, client = event.body, _mgmt_client()
    if body == "boom":
        raise RuntimeError("message handler crashed")
    if body.startswith("sleep"):
        time.sleep(0.5)
    if body == "whoami":
        body = event.connection_id
    client.post_to_connection(ConnectionId=event.connection_id, Data=f"echo:{body}".encode())


@app.on_ws_disconnect()
def ws_disconnect(event: Any) -> None:
    EVENTS.append(event.to_dict())


@app.route("/api/ping", methods=["GET", "POST"], cors=True)
def ping() -> dict[str, Any]:
    return {"pong": True, "query": app.current_request.query_params}


@app.route("/files/{name}", methods=["GET"])
def files(name: str) -> dict[str, Any]:
    return {"name": name, "path": app.current_request.context["path"]}


# --- fixtures ----------------------------------------------------------------------


class RunningGateway:
    def __init__(self) -> None:
        settings = GatewaySettings(root_redirect="/files/home")
        apps = create_apps(app, settings=settings, handler_lookup=module_handler_lookup(sys.modules[__name__]))
        public, mgmt = bind_socket("127.0.0.1", 0), bind_socket("127.0.0.1", 0)
        self.http_url = f"http://127.0.0.1:{bound_port(public)}"
        self.ws_url = f"ws://127.0.0.1:{bound_port(public)}/ws"
        self.mgmt_url = f"http://127.0.0.1:{bound_port(mgmt)}"
        self._group = ServerGroup([Listener("public", apps.public, public), Listener("mgmt", apps.management, mgmt)])
        self._executor = apps.executor
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._group.serve(),), daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._group.wait_started(10), self._loop).result(15)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._group.stop)
        self._thread.join(15)
        self._executor.shutdown(wait=False)


@pytest.fixture(scope="module")
def gateway() -> Iterator[RunningGateway]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    running = RunningGateway()
    MGMT["endpoint"] = f"{running.mgmt_url}/local"
    running.start()
    yield running
    running.stop()


def wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def open_ws(gateway: RunningGateway, query: str = "", origin: str = "http://shop.test") -> ClientConnection:
    return connect(gateway.ws_url + query, origin=origin, open_timeout=5)  # type: ignore[arg-type]


def connection_id_of(ws: ClientConnection) -> str:
    ws.send("whoami")
    return ws.recv(timeout=5).removeprefix("echo:")  # type: ignore[union-attr]


# --- websocket events --------------------------------------------------------------


def test_connect_event_has_api_gateway_shape(gateway: RunningGateway) -> None:
    with open_ws(gateway, "?v=1&token=abc&token=def") as ws:
        connection_id = connection_id_of(ws)
    event = _events("$connect", connection_id)[0]
    ctx = event["requestContext"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{15}=", connection_id)
    assert ctx["eventType"] == "CONNECT" and ctx["routeKey"] == "$connect"
    assert ctx["stage"] == "local" and ctx["apiId"] == "local" and ctx["messageDirection"] == "IN"
    assert ctx["domainName"] == gateway.http_url.removeprefix("http://")
    assert ctx["identity"]["sourceIp"] == "127.0.0.1"
    assert ctx["identity"]["userAgent"].startswith("Python/")
    assert isinstance(ctx["connectedAt"], int) and ctx["requestTimeEpoch"] >= ctx["connectedAt"]
    assert ctx["requestId"] and ctx["extendedRequestId"] and ctx["requestTime"].endswith("+0000")
    assert event["headers"]["Origin"] == "http://shop.test"
    assert event["multiValueHeaders"]["Origin"] == ["http://shop.test"]
    assert event["headers"]["Sec-WebSocket-Version"] == "13"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["queryStringParameters"] == {"v": "1", "token": "def"}
    assert event["multiValueQueryStringParameters"] == {"v": ["1"], "token": ["abc", "def"]}
    assert event["isBase64Encoded"] is False and "body" not in event


def test_connect_without_query_string_omits_query_keys(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        connection_id = connection_id_of(ws)
    event = _events("$connect", connection_id)[0]
    assert "queryStringParameters" not in event and "multiValueQueryStringParameters" not in event


def test_message_event_carries_the_frame(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        connection_id = connection_id_of(ws)
        ws.send('{"type":"ping"}')
        assert ws.recv(timeout=5) == 'echo:{"type":"ping"}'
    event = [e for e in _events("$default", connection_id) if e["body"] == '{"type":"ping"}'][0]
    ctx = event["requestContext"]
    assert ctx["eventType"] == "MESSAGE" and ctx["routeKey"] == "$default"
    assert ctx["messageId"] and ctx["connectionId"] == connection_id
    assert ctx["connectedAt"] == _events("$connect", connection_id)[0]["requestContext"]["connectedAt"]
    assert event["isBase64Encoded"] is False


def test_disconnect_event_after_client_close(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        connection_id = connection_id_of(ws)
        ws.close(code=1001, reason="tab closed")
    event = wait_for(lambda: _events("$disconnect", connection_id))[0]
    ctx = event["requestContext"]
    assert ctx["eventType"] == "DISCONNECT"
    assert ctx["disconnectStatusCode"] == 1001 and ctx["disconnectReason"] == "tab closed"
    assert event["headers"]["Host"] == ctx["domainName"]


def test_frames_of_one_connection_run_concurrently(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        started = time.monotonic()
        for i in range(4):
            ws.send(f"sleep{i}")
        replies = {ws.recv(timeout=5) for _ in range(4)}
        elapsed = time.monotonic() - started
    assert replies == {f"echo:sleep{i}" for i in range(4)}
    assert elapsed < 1.5  # four 0.5 s handlers, not one after the other


def test_handler_error_answers_internal_server_error(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        ws.send("boom")
        frame = json.loads(ws.recv(timeout=5))
    assert frame["message"] == "Internal server error" and frame["connectionId"] and frame["requestId"]


# --- handshake refusal --------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403])
def test_non_2xx_connect_refuses_the_handshake(gateway: RunningGateway, status: int) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_ws(gateway, f"?refuse={status}")
    assert refused.value.response.status_code == status


def test_refused_connection_gets_no_disconnect_and_is_gone(gateway: RunningGateway) -> None:
    before = len(EVENTS)
    with pytest.raises(InvalidStatus):
        open_ws(gateway, "?refuse=403")
    refused_id = [e for e in EVENTS[before:] if e["requestContext"]["routeKey"] == "$connect"][0]["requestContext"][
        "connectionId"
    ]
    time.sleep(0.2)
    assert not _events("$disconnect", refused_id)
    client = _mgmt_client()
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=refused_id, Data=b"x")


def test_crashing_connect_handler_is_a_bad_gateway(gateway: RunningGateway) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_ws(gateway, "?crash=1")
    assert refused.value.response.status_code == 502


# --- frame limits -------------------------------------------------------------------


def test_frame_of_32_kb_is_accepted(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        ws.send("a" * 32 * 1024)
        assert ws.recv(timeout=5) == "echo:" + "a" * 32 * 1024


def test_oversize_frame_closes_with_1009(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        connection_id = connection_id_of(ws)
        ws.send("a" * (32 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    event = wait_for(lambda: _events("$disconnect", connection_id))[0]
    assert event["requestContext"]["disconnectStatusCode"] == 1009


def test_binary_frame_closes_with_1003(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        ws.send(b"\x00\x01")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


# --- management API -----------------------------------------------------------------


def test_management_api_post_get_delete(gateway: RunningGateway) -> None:
    client = _mgmt_client()
    with open_ws(gateway) as ws:
        connection_id = connection_id_of(ws)
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"type":"pong"}')
        assert ws.recv(timeout=5) == '{"type":"pong"}'
        info = client.get_connection(ConnectionId=connection_id)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        assert info["Identity"]["UserAgent"].startswith("Python/")
        assert info["LastActiveAt"] >= info["ConnectedAt"]
        client.delete_connection(ConnectionId=connection_id)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
    event = wait_for(lambda: _events("$disconnect", connection_id))[0]
    assert event["requestContext"]["disconnectStatusCode"] == 1000
    for call in (client.post_to_connection, client.get_connection, client.delete_connection):
        kwargs: dict[str, Any] = {"ConnectionId": connection_id}
        if call == client.post_to_connection:
            kwargs["Data"] = b"late"
        with pytest.raises(client.exceptions.GoneException):
            call(**kwargs)


def test_post_to_unknown_connection_raises_gone(gateway: RunningGateway) -> None:
    client = _mgmt_client()
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"hello")


def test_post_after_client_left_raises_gone(gateway: RunningGateway) -> None:
    with open_ws(gateway) as ws:
        connection_id = connection_id_of(ws)
    wait_for(lambda: _events("$disconnect", connection_id))
    client = _mgmt_client()
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=connection_id, Data=b"hello")


def test_keep_alive_posts_do_not_stall_on_nagle(gateway: RunningGateway) -> None:
    client = _mgmt_client()  # one boto3 client: one keep-alive connection
    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(client.exceptions.GoneException):
            client.post_to_connection(ConnectionId="AAAAAAAAAAAAAAA=", Data=b"x")
    assert time.monotonic() - started < 0.5  # 20 x 40 ms when TCP_NODELAY is missing


def _http(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, Message, bytes]:
    """status, headers (case-insensitive), body"""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_metrics_count_dynamodb_calls(gateway: RunningGateway) -> None:
    install_botocore_counter()
    assert _http(gateway.mgmt_url + "/_local/metrics/reset", "POST")[0] == 200
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(ddb) as stub:
        stub.add_response("list_tables", {"TableNames": []})
        stub.add_response("get_item", {})
        ddb.list_tables()
        ddb.get_item(TableName="t", Key={"pk": {"S": "x"}})
    with open_ws(gateway) as ws:
        connection_id_of(ws)
    status, _, body = _http(gateway.mgmt_url + "/_local/metrics")
    metrics = json.loads(body)
    assert status == 200
    assert metrics["ddb_calls"] == 2
    assert metrics["ddb_by_operation"] == {"ListTables": 1, "GetItem": 1}
    assert metrics["ws_connects"] == 1 and metrics["ws_messages"] == 1 and metrics["mgmt_posts"] == 1


# --- REST ---------------------------------------------------------------------------


def test_rest_routes_go_through_chalice(gateway: RunningGateway) -> None:
    status, headers, body = _http(gateway.http_url + "/api/ping?x=1", headers={"Origin": "http://shop.test"})
    assert status == 200 and json.loads(body) == {"pong": True, "query": {"x": "1"}}
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Content-Type"] == "application/json"


def test_cors_preflight_is_answered_like_api_gateway(gateway: RunningGateway) -> None:
    preflight = {"Origin": "http://shop.test", "Access-Control-Request-Method": "POST"}
    status, headers, _ = _http(gateway.http_url + "/api/ping", "OPTIONS", preflight)
    assert status == 200
    assert set(headers["Access-Control-Allow-Methods"].split(",")) == {"GET", "POST", "OPTIONS"}


def test_unknown_rest_route_is_missing_authentication_token(gateway: RunningGateway) -> None:
    status, _, body = _http(gateway.http_url + "/api/nope")
    assert status == 403 and b"Missing Authentication Token" in body


def test_every_path_but_the_websocket_goes_to_the_app_as_sent(gateway: RunningGateway) -> None:
    status, _, body = _http(gateway.http_url + "/files/a%2Fb.js")  # "%2F" stays inside the segment
    assert status == 200 and json.loads(body) == {"name": "a%2Fb.js", "path": "/files/a%2Fb.js"}
    status, _, body = _http(gateway.http_url + "/files/a/b.js")
    assert status == 403 and b"Missing Authentication Token" in body
    status, _, body = _http(gateway.http_url + "/")  # redirected to /files/home
    assert status == 200 and json.loads(body)["name"] == "home"


# --- the whole stack (python -m infra.local) ----------------------------------------


def _alive(pid: int) -> bool:
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not (Path(__file__).resolve().parents[2] / "app.py").exists(), reason="needs app.py")
def test_local_stack_starts_serves_and_stops_cleanly() -> None:
    from infra.local.stack import LocalStack

    with LocalStack() as stack:
        assert _http(stack.parley_url + "/api/health")[2] == b'{"ok":true}'
        assert stack.ws_url.startswith("ws://") and stack.site_id == "demo" and stack.operator_password
        status, headers, _ = _http(stack.console_url)
        assert status == 200 and headers["Cache-Control"] == "no-cache"
        status, _, page = _http(stack.shop_url)
        assert status == 200 and b"{{PARLEY_URL}}" not in page
        stack.reset_metrics()
        assert stack.metrics()["ddb_calls"] == 0
        pids = [stack.info["pid"], stack.info["moto_pid"]]
    assert not any(_alive(pid) for pid in pids)
