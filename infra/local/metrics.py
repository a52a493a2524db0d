"""In-process counters for the local stack.

``ddb_calls`` counts every DynamoDB API call made through botocore in this process
(pynamodb and boto3 both end in ``botocore.client.BaseClient._make_api_call``), so a
benchmark can tell how many DynamoDB requests a chat message costs. Served as JSON at
``GET /_local/metrics`` on the management port (``POST /_local/metrics/reset`` zeroes it):

- ``ddb_calls``, ``ddb_by_operation`` {"GetItem": n, ...}, ``aws_calls_by_service``
- ``ws_connects`` (accepted), ``ws_refused``, ``ws_messages`` (inbound frames), ``ws_disconnects``
- ``invocations:$connect|$default|$disconnect``, ``handler_errors``, ``handler_ms_total``
- ``mgmt_posts``, ``mgmt_gone`` (410s), ``mgmt_deletes``, ``rest_requests``
- ``open_connections`` (added by the management app)
"""
from __future__ import annotations

import functools
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import botocore.client


class Metrics:
    """Thread-safe named counters, plus DynamoDB calls per operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: Counter[str] = Counter()
        self._ddb_ops: Counter[str] = Counter()
        self._aws_services: Counter[str] = Counter()

    def incr(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self._counters[name] += amount

    def record_aws_call(self, service: str, operation: str) -> None:
        with self._lock:
            self._aws_services[service] += 1
            if service == "dynamodb":
                self._counters["ddb_calls"] += 1
                self._ddb_ops[operation] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {"ddb_calls": 0, **self._counters}
            data["ddb_by_operation"] = dict(self._ddb_ops)
            data["aws_calls_by_service"] = dict(self._aws_services)
            return data

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()
            self._ddb_ops.clear()
            self._aws_services.clear()


METRICS = Metrics()
ApiCallObserver = Callable[[Any, str, Any], None]  # (client, operation name, parameters)
_observers: dict[str, ApiCallObserver] = {}


def observe_api_calls(name: str, observer: ApiCallObserver) -> None:
    """Calls ``observer`` before every AWS API call in this process: pynamodb and boto3 both end
    in ``botocore.client.BaseClient._make_api_call``, which is wrapped once. One observer per name."""
    if not _observers:
        original: Callable[..., Any] = botocore.client.BaseClient._make_api_call

        @functools.wraps(original)
        def observed(self: Any, operation_name: str, api_params: Any) -> Any:
            for notify in list(_observers.values()):
                notify(self, operation_name, api_params)
            return original(self, operation_name, api_params)

        botocore.client.BaseClient._make_api_call = observed
    _observers[name] = observer


def install_botocore_counter(metrics: Metrics = METRICS) -> None:
    """Counts every AWS call in ``metrics``."""
    observe_api_calls("metrics", lambda client, operation, _params: metrics.record_aws_call(
        client.meta.service_model.service_name, operation))
