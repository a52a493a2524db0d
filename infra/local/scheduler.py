"""The local stand-in for EventBridge schedules: runs the app's scheduled functions, as
Lambda would be invoked (event, context), every `period_s` seconds.

On AWS each schedule keeps its own rate (`rate(1 minute)` today); locally one period serves
them all, so a test can make "every minute" every second (PARLEY_SCHEDULE_SECONDS).
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from chalice.app import ScheduledEventConfig
from chalice.local import LambdaContext

log = logging.getLogger("parley.local.scheduler")
DEFAULT_PERIOD_S = 60.0


def scheduled_functions(app_module: ModuleType) -> dict[str, Any]:
    """name -> the Lambda-style callable of each scheduled function of app.py."""
    found = {}
    for source in app_module.app.event_sources:
        if isinstance(source, ScheduledEventConfig):
            found[source.name] = getattr(app_module, source.handler_string.rpartition(".")[2])
    return found


def scheduled_event(name: str) -> dict[str, Any]:
    """The event EventBridge sends a scheduled function."""
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1", "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{name}"], "detail": {},
    }


class Scheduler:
    def __init__(self, app_module: ModuleType, period_s: float = DEFAULT_PERIOD_S,
                 function_prefix: str = "parley-local") -> None:
        self._functions = scheduled_functions(app_module)
        self._period_s = period_s
        self._prefix = function_prefix
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-schedule")

    def run_once(self) -> dict[str, Any]:
        """Runs every scheduled function once; a failure is logged, as Lambda would."""
        results = {}
        for name, function in self._functions.items():
            context = LambdaContext(f"{self._prefix}-{name}", 512, max_runtime_ms=60_000)
            try:
                results[name] = function(scheduled_event(name), context)
            except Exception:
                log.exception("scheduled function %s failed", name)
        return results

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._period_s)
            await loop.run_in_executor(self._executor, self.run_once)
