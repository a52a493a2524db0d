"""moto's server, as ``python -m moto.server`` runs it, with S3 POST policies enforced.

``python -m infra.local.moto_app --host H --port P`` builds the app ``moto.server`` builds and
wraps it in :class:`infra.local.s3_post_policy.S3PostPolicy`.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, Optional

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple

from infra.local.s3_post_policy import S3PostPolicy, WSGIApp


def build_app() -> WSGIApp:
    return S3PostPolicy(DomainDispatcherApplication(create_backend_app))


def _exit(signum: int, frame: Any) -> None:
    sys.exit(0)


def main(argv: Optional[list[str]] = None) -> None:
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
