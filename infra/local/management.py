"""The API Gateway Management API, locally: ``/{stage}/@connections/{connectionId}``.

boto3's ``apigatewaymanagementapi`` client (endpoint_url = ``http://host:port/{stage}``)
talks to this app unchanged: PostToConnection, GetConnection and DeleteConnection, with a
410 + ``x-amzn-ErrorType: GoneException`` for unknown or closed connections, which boto3
raises as ``client.exceptions.GoneException``. Also ``/_local/metrics`` for benchmarks.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .connections import ConnectionRegistry
from .metrics import METRICS, Metrics

POST_LIMIT_BYTES = 128 * 1024  # PostToConnection's payload limit on AWS


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=status, headers={"x-amzn-ErrorType": error_type})


def gone() -> JSONResponse:
    return _error(410, "GoneException", "Gone")


def _iso(epoch_ms: int) -> str:
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class ManagementApi:
    def __init__(self, registry: ConnectionRegistry, metrics: Metrics) -> None:
        self._registry = registry
        self._metrics = metrics

    async def connection(self, request: Request) -> Response:
        connection_id = request.path_params["connection_id"]
        if request.method == "POST":
            return await self._post(connection_id, await request.body())
        if request.method == "DELETE":
            return await self._delete(connection_id)
        return self._get(connection_id)  # GET (and HEAD)

    async def _post(self, connection_id: str, data: bytes) -> Response:
        self._metrics.incr("mgmt_posts")
        if len(data) > POST_LIMIT_BYTES:
            return _error(413, "PayloadTooLargeException", "Message too long")
        if not await self._registry.send(connection_id, data):
            self._metrics.incr("mgmt_gone")
            return gone()
        return Response(status_code=200)

    def _get(self, connection_id: str) -> Response:
        conn = self._registry.get(connection_id)
        if conn is None:
            return gone()
        info = conn.info
        return JSONResponse(
            {
                "connectedAt": _iso(info.connected_at),
                "identity": {"sourceIp": info.source_ip, "userAgent": info.user_agent},
                "lastActiveAt": _iso(conn.last_active_at),
            }
        )

    async def _delete(self, connection_id: str) -> Response:
        self._metrics.incr("mgmt_deletes")
        if not await self._registry.close(connection_id):
            return gone()
        return Response(status_code=204)

    async def metrics(self, request: Request) -> Response:
        data: dict[str, Any] = self._metrics.snapshot()
        data["open_connections"] = len(self._registry)
        return JSONResponse(data)

    async def reset_metrics(self, request: Request) -> Response:
        self._metrics.reset()
        return JSONResponse({"ok": True})


def create_management_app(registry: ConnectionRegistry, metrics: Metrics = METRICS) -> Starlette:
    api = ManagementApi(registry, metrics)
    return Starlette(
        routes=[
            Route("/_local/metrics", api.metrics, methods=["GET"]),
            Route("/_local/metrics/reset", api.reset_metrics, methods=["POST"]),
            Route("/{stage}/@connections/{connection_id}", api.connection, methods=["POST", "GET", "DELETE"]),
        ]
    )
