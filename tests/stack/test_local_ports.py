"""The local stack's ports, over real sockets: ``--port 0`` moves every one of them, and a
default port in use is reported with the option that moves it."""
from __future__ import annotations

import contextlib
import errno
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.moto_server import free_port
from infra.local.stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
DEFAULT_PORTS = {"--port": 8000, "--mgmt-port": 8001, "--shop-port": 8080, "--moto-port": 5000,
                 "--smtp-port": 1025, "--mailbox-port": 8025}
# What each line of the banner points at, and the path there that must answer 200.
BANNER_PAGES = {
    "Demo shop (visitor widget)": "",
    "Operator console": "",
    "REST API": "",
    "Management API / metrics": "",
    "Local mailbox": "",
    "moto": "/moto-api/data.json",
}


def _listen(port: int) -> socket.socket | None:
    """A socket holding ``port`` on loopback; None if something else holds it already."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOOPBACK, port))
        sock.listen(1)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            return None
        pytest.skip(f"cannot hold port {port}: {exc.strerror}")
    return sock


@contextlib.contextmanager
def holding(ports: list[int]) -> Iterator[None]:
    """Every port in ``ports`` in use during the block: by us, or by whoever had it already."""
    with contextlib.ExitStack() as held:
        for port in ports:
            sock = _listen(port)
            if sock is not None:
                held.enter_context(sock)
        yield


def _printed_urls(log: str) -> dict[str, str]:
    return dict(re.findall(r"^ {2}(\S[^:]*):\s+((?:http|ws)://\S+)", log, re.MULTILINE))


def _printed_smtp_port(log: str) -> int:
    found = re.search(r"SMTP inlet on port (\d+)", log)
    assert found, log
    return int(found.group(1))


def _port(url: str) -> int:
    found = re.match(r"\w+://[^/:]+:(\d+)", url)
    assert found, url
    return int(found.group(1))


def _get_status(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status)


def _smtp_greeting(port: int) -> bytes:
    with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
        return sock.recv(512)


def test_port_0_moves_every_port_off_the_defaults_and_prints_the_real_ones() -> None:
    with holding(list(DEFAULT_PORTS.values())), LocalStack() as stack:  # LocalStack passes --port 0
        log = stack.log_file.read_text()
        urls = _printed_urls(log)
        smtp_port = _printed_smtp_port(log)
        printed_ports = {_port(url) for url in urls.values()} | {smtp_port}

        assert printed_ports.isdisjoint(DEFAULT_PORTS.values()), log
        for label, path in BANNER_PAGES.items():
            assert _get_status(urls[label] + path) == 200, label
        assert _port(urls["Websocket API"]) == _port(urls["REST API"])
        assert _smtp_greeting(smtp_port).startswith(b"220 "), log


def _command_with_only_default(flag: str) -> list[str]:
    """Every other port free, so the one under test is the only default, and not --port 0."""
    others = [arg for other in DEFAULT_PORTS if other not in (flag, "--port") for arg in (other, "0")]
    public = [] if flag == "--port" else ["--port", str(free_port(LOOPBACK))]
    return [sys.executable, "-m", "infra.local", *public, *others]


@pytest.mark.parametrize("flag", list(DEFAULT_PORTS))
def test_a_default_port_in_use_names_the_option_that_moves_it(flag: str) -> None:
    port = DEFAULT_PORTS[flag]
    with holding([port]):
        done = subprocess.run(_command_with_only_default(flag), cwd=ROOT, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60)

    assert done.returncode != 0
    assert f"port {port} is in use: pass {flag} N, or --port 0 for free ports everywhere" in done.stderr
    assert "Traceback" not in done.stderr
