"""The local stack's port options, and binding them all before anything starts.

``--port 0`` moves every port to a free one, so stacks run side by side and next to whatever
already holds 8000, 8080 or 5000; a port option given explicitly still wins. A port in use is
reported with the option that moves it.
"""
from __future__ import annotations

import argparse
import errno
import socket
from dataclasses import dataclass

from .environment import INBOUND_DOMAIN
from .servers import bind_socket, bound_port

MOTO_HOST = "127.0.0.1"  # moto serves only this process, whatever --host says
EVERY_PORT_FREE = 0


@dataclass(frozen=True)
class PortOption:
    name: str
    flag: str
    default: int
    help: str

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


PUBLIC = PortOption("public", "--port", 8000, "public gateway: /ws, /api, /widget, /console")
PORT_OPTIONS = (
    PUBLIC,
    PortOption("mgmt", "--mgmt-port", 8001, "API Gateway Management API (@connections)"),
    PortOption("shop", "--shop-port", 8080, "demo shop"),
    PortOption("moto", "--moto-port", 5000, "moto server"),
    PortOption("smtp", "--smtp-port", 1025, f"SMTP inlet for mail to @{INBOUND_DOMAIN}"),
    PortOption("mailbox", "--mailbox-port", 8025, "the visitor's mailbox: the mail Parley sent"),
)


def add_port_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(PUBLIC.flag, type=int, default=PUBLIC.default, help=f"{PUBLIC.help} "
                        f"(default {PUBLIC.default}; 0 = any free port, also for every port option not given)")
    for option in PORT_OPTIONS[1:]:
        parser.add_argument(option.flag, type=int,
                            help=f"{option.help} (default {option.default}, or any free port with --port 0)")


def resolve_ports(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the port options not given: free ones with ``--port 0``, else their defaults."""
    every_port_free = args.port == EVERY_PORT_FREE
    for option in PORT_OPTIONS:
        if getattr(args, option.dest) is None:
            setattr(args, option.dest, EVERY_PORT_FREE if every_port_free else option.default)
    return args


def bind_ports(args: argparse.Namespace) -> dict[str, socket.socket]:
    """A listening socket per port option, by name; moto's is only a check that its port is
    free (moto binds it itself): close it with :func:`release`."""
    return {option.name: _bind(args, option) for option in PORT_OPTIONS}


def release(sock: socket.socket) -> int:
    port = bound_port(sock)
    sock.close()
    return port


def _bind(args: argparse.Namespace, option: PortOption) -> socket.socket:
    port = getattr(args, option.dest)
    try:
        return bind_socket(MOTO_HOST if option.name == "moto" else args.host, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise OSError(exc.errno, port_in_use(option, port, args.port == EVERY_PORT_FREE)) from exc


def port_in_use(option: PortOption, port: int, every_port_free: bool) -> str:
    remedy = f"pass {option.flag} N"
    if not every_port_free:
        remedy += ", or --port 0 for free ports everywhere"
    return f"port {port} is in use: {remedy}"
