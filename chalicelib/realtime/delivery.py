"""Real-time delivery: posting frames to websocket connections through the API Gateway
Management API. The one place that talks to connections, from any handler (websocket route,
schedule, S3 event): on AWS and locally the same boto3 calls are made."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

from chalicelib.shared.config import settings

logger = Logger(service="parley", child=True)
_clients: dict[str, Any] = {}
_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2, "mode": "standard"},
                        max_pool_connections=32)


def endpoint_for(domain_name: str | None, stage: str | None) -> str:
    """Where the management API lives: configured explicitly, or derived as API Gateway does."""
    if settings.ws_endpoint:
        return settings.ws_endpoint
    if not domain_name or not stage:
        raise RuntimeError("PARLEY_WS_ENDPOINT is not set and no websocket event gives the endpoint")
    return f"https://{domain_name}/{stage}"


def _client(endpoint: str) -> Any:
    with _lock:
        client = _clients.get(endpoint)
        if client is None:
            client = boto3.client("apigatewaymanagementapi", endpoint_url=endpoint,
                                  region_name=settings.region, config=_CLIENT_CONFIG)
            _clients[endpoint] = client
        return client


def encode(frame: dict[str, Any]) -> str:
    """A frame as posted to a connection: compact JSON, non-ASCII kept as is."""
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


class Outbox:
    """Frames to post, collected while a request is handled and sent when it is done."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._items: list[tuple[str, str]] = []

    def add(self, connection_ids: Iterable[str], frame: dict[str, Any]) -> None:
        data = encode(frame)
        self._items.extend((cid, data) for cid in connection_ids)

    def send(self) -> set[str]:
        """Posts every frame, connections in parallel and each connection's frames in order;
        returns the connections that are gone (410)."""
        if not self._items:
            return set()
        client = _client(self.endpoint)
        per_connection: dict[str, list[str]] = {}
        for connection_id, data in self._items:
            per_connection.setdefault(connection_id, []).append(data)
        self._items.clear()
        if len(per_connection) == 1:
            results = [_post_all(client, *next(iter(per_connection.items())))]
        else:
            results = list(_pool().map(lambda item: _post_all(client, *item), per_connection.items()))
        return {connection_id for connection_id, alive in results if not alive}


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=16, thread_name_prefix="parley-post")
        return _executor


def _post_all(client: Any, connection_id: str, frames: list[str]) -> tuple[str, bool]:
    for data in frames:
        if not post(client, connection_id, data):
            return connection_id, False
    return connection_id, True


def post(client: Any, connection_id: str, data: str) -> bool:
    """False when the connection is gone; other failures are logged and do not stop the rest."""
    try:
        client.post_to_connection(ConnectionId=connection_id, Data=data.encode("utf-8"))
        return True
    except client.exceptions.GoneException:
        return False
    except Exception:  # one bad connection must not stop delivery to the others
        logger.exception("post_to_connection failed", extra={"connection_id": connection_id})
        return True


def close_connections(endpoint: str, connection_ids: Iterable[str]) -> None:
    """Closes websocket connections (a blocked visitor's tabs); one already gone is fine."""
    client = _client(endpoint)
    for connection_id in connection_ids:
        try:
            client.delete_connection(ConnectionId=connection_id)
        except client.exceptions.GoneException:
            pass
        except Exception:
            logger.exception("delete_connection failed", extra={"connection_id": connection_id})
