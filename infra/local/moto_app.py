"""moto's server, as ``python -m moto.server`` runs it, with S3 POST policies enforced.

``python -m infra.local.moto_app --host H --port P`` builds the app ``moto.server`` builds and
wraps it in :class:`infra.local.s3_post_policy.S3PostPolicy`, plus one read-only route of our
own, ``GET /_parley/ses/sent``: the mail SES "sent" (moto keeps it in its SES backend, which
lives in this process), for the local mailbox. ``/moto-api/data.json`` has it too, but among
every model of every service and without account or region.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import signal
import sys
import threading
from collections.abc import Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from infra.local.s3_post_policy import Environ, S3PostPolicy, StartResponse, WSGIApp

SENT_PATH = "/_parley/ses/sent"


def _sent_message(message: Any, account: str, region: str) -> dict[str, Any] | None:
    from moto.ses.models import Message, RawMessage

    found = {"id": message.id, "account": account, "region": region, "source": message.source}
    if isinstance(message, RawMessage):  # SendRawEmail, and SESv2 SendEmail with Raw content
        raw = message.raw_data.encode("utf-8")  # moto decoded the bytes as UTF-8
        return found | {"kind": "raw", "destinations": list(message.destinations),
                        "raw": base64.b64encode(raw).decode("ascii")}
    if isinstance(message, Message):  # SendEmail, SESv2 SendEmail with Simple content
        return found | {"kind": "simple", "destinations": message.destinations,
                        "subject": message.subject, "body": message.body}
    return None  # templated sends: nothing the local mailbox shows


def sent_messages() -> list[dict[str, Any]]:
    """Every message moto's SES backends hold, per account and region in the order sent."""
    from moto.ses.models import ses_backends

    found = []
    for account in list(ses_backends.keys()):
        for region, backend in list(ses_backends[account].items()):
            for message in list(backend.sent_messages):
                item = _sent_message(message, account, region)
                if item is not None:
                    found.append(item)
    return found


class SentMailRoute:
    """WSGI middleware: answers ``GET /_parley/ses/sent``, passes everything else on."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != SENT_PATH:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "GET":
            start_response("405 Method Not Allowed", [("Allow", "GET"), ("Content-Length", "0")])
            return [b""]
        body = json.dumps({"messages": sent_messages()}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class AtomicDynamoDB:
    """WSGI middleware: one DynamoDB request at a time. DynamoDB applies each write (a
    conditional update, a transaction) atomically; moto checks a condition and then writes in
    separate steps, so two threads of its server could both pass the same condition (two
    dialogs taking an operator's last slot). Serialising DynamoDB calls restores DynamoDB's
    guarantee; other services run as before."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self._lock:
            return list(self.app(environ, start_response))


def build_app() -> WSGIApp:
    return SentMailRoute(AtomicDynamoDB(S3PostPolicy(DomainDispatcherApplication(create_backend_app))))


def _exit(signum: int, frame: Any) -> None:
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.local.moto_app")
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)))
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds some URLs (SQS queues, ...) from it
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _exit)
    run_simple(args.host, args.port, build_app(), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
