"""``LocalStack``: the whole local stack as a subprocess, for tests and benchmarks.

    with LocalStack() as stack:
        stack.parley_url, stack.ws_url, stack.operator_email, stack.operator_password
        stack.reset_metrics(); ...; stack.metrics()["ddb_calls"]

Every port is picked freshly (0), so stacks can run side by side. The subprocess's output
goes to a temporary log file; when start-up fails its tail is in the exception.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
READY_KEYS = (
    "parley_url",
    "ws_url",
    "mgmt_url",
    "shop_url",
    "console_url",
    "moto_url",
    "operator_email",
    "operator_password",
    "operator2_email",
    "site_id",
)


class StackStartError(RuntimeError):
    pass


class LocalStack:
    parley_url: str
    ws_url: str
    mgmt_url: str
    shop_url: str
    console_url: str
    moto_url: str
    operator_email: str
    operator_password: str
    operator2_email: str
    site_id: str

    def __init__(self, timeout: float = 60.0, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self._timeout = timeout
        self._env = env
        self._args = args
        self._dir = Path(tempfile.mkdtemp(prefix="parley-stack-"))
        self.ready_file = self._dir / "ready.json"
        self.log_file = self._dir / "stack.log"
        self._log: IO[bytes] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self._log = open(self.log_file, "wb")
        self._proc = subprocess.Popen(
            self._command(),
            cwd=ROOT,
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so stop() can reap everything
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop(keep_files=True)
            raise

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "infra.local", "--port", "0", "--ready-file", str(self.ready_file), *self._args]

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ if self._env is None else self._env)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._timeout
        while not self.ready_file.exists():
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise StackStartError(f"local stack exited with {self._proc.returncode}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise StackStartError(f"local stack not ready after {self._timeout:.0f} s\n{self.log_tail()}")
            time.sleep(0.05)
        self.info = json.loads(self.ready_file.read_text())
        for key in READY_KEYS:
            setattr(self, key, self.info[key])

    def stop(self, keep_files: bool = False) -> None:
        """SIGTERM (graceful: $disconnect handlers run, moto stops), then SIGKILL leftovers."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _terminate(proc)
            _kill_group(proc.pid)
        if self.info.get("moto_pid"):
            _kill_moto(int(self.info["moto_pid"]))  # only alive if the stack died without stopping it
        if self._log is not None:
            self._log.close()
            self._log = None
        if not keep_files:
            shutil.rmtree(self._dir, ignore_errors=True)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # --- helpers -------------------------------------------------------------------

    def metrics(self) -> dict[str, Any]:
        """Counters of the gateway process: ddb_calls, ddb_by_operation, ws_messages, ..."""
        with urllib.request.urlopen(f"{self.mgmt_url}/_local/metrics", timeout=10) as response:
            return json.loads(response.read())

    def reset_metrics(self) -> None:
        request = urllib.request.Request(f"{self.mgmt_url}/_local/metrics/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10):
            pass


def _terminate(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def _kill_moto(pid: int) -> None:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return  # gone (or not Linux: PR_SET_PDEATHSIG does not exist there either)
    if b"moto.server" in cmdline:
        _kill_group(pid)  # moto leads its own process group


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
