"""``python -m infra.local``: Parley on one laptop.

moto (DynamoDB, S3, SES) as a child process; the public gateway (websocket API, REST API,
widget, console), the Management API, the demo shop and the visitor's mailbox as uvicorn servers
in this process, with an SMTP inlet standing in for SES email receiving.
Ctrl-C or SIGTERM stops everything, moto included.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from .environment import INBOUND_DOMAIN, MAIL_FROM, StackUrls, apply_environment, public_host
from .moto_server import MotoServer
from .ports import MOTO_HOST, add_port_arguments, bind_ports, release, resolve_ports
from .servers import Listener, ServerGroup, bound_port

ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger("parley.local")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.local", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="interface for all servers (default 127.0.0.1)")
    add_port_arguments(parser)
    parser.add_argument("--ready-file", type=Path, help="write the URLs and sign-in here as JSON once serving")
    parser.add_argument("--operator-email", default="operator@demo.shop")
    parser.add_argument("--demo-proactive", action="store_true",
                        help="seed a greeting on the pricing page and two segments (python3 dev.py run does)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--access-log", action="store_true", help="log every HTTP request")
    return resolve_ports(parser.parse_args(argv))


SECOND_OPERATOR = "ben@demo.shop"


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGINT/SIGTERM during start-up: unwind and stop moto


def seed(urls: StackUrls, email: str, demo_proactive: bool = False) -> dict[str, Any]:
    """Tables and the demo site, with the shop's origins allowed."""
    from chalicelib import admin

    admin.create_tables()  # the data bucket too, where inbound mail lands
    verify_mail_domain()
    password = os.environ.get("PARLEY_DEMO_PASSWORD") or secrets.token_urlsafe(9)
    seeded = admin.seed_demo(urls.shop_origins, email, password)
    # A second operator, so two people can try the workspace together (same password).
    second = admin.seed_demo(urls.shop_origins, SECOND_OPERATOR, password, operator_name="Ben")
    if demo_proactive:
        admin.seed_demo_proactive(seeded["site_id"])
    return {**seeded, "operator2_email": second["operator_email"]}


def verify_mail_domain() -> None:
    """SES (moto) sends only from verified identities: the inbound domain is Parley's."""
    import boto3

    from chalicelib.shared.config import settings

    sesv2 = boto3.client("sesv2", region_name=settings.region, endpoint_url=settings.aws_endpoint)
    try:
        sesv2.create_email_identity(EmailIdentity=INBOUND_DOMAIN)
    except sesv2.exceptions.AlreadyExistsException:
        pass


def build_inlet() -> Any:
    from .mail_inlet import MailInlet

    return MailInlet(INBOUND_DOMAIN, importlib.import_module("app").inbound_mail)


def build_scheduler() -> Any:
    from .scheduler import DEFAULT_PERIOD_S, Scheduler

    period = float(os.environ.get("PARLEY_SCHEDULE_SECONDS") or DEFAULT_PERIOD_S)
    return Scheduler(importlib.import_module("app"), period)


def build_listeners(urls: StackUrls, sockets: dict[str, socket.socket]) -> list[Listener]:
    from .demo_shop import create_shop_app
    from .gateway import GatewaySettings, create_apps
    from .mailbox import create_mailbox_app, moto_sent_mail

    app_module = importlib.import_module("app")
    settings = GatewaySettings(root_redirect="/console/index.html")  # /widget, /console: app.py's routes
    apps = create_apps(app_module.app, settings=settings)
    return [
        Listener("public", apps.public, sockets["public"]),
        Listener("management", apps.management, sockets["mgmt"]),
        Listener("shop", create_shop_app(urls.parley_url), sockets["shop"]),
        Listener("mailbox", create_mailbox_app(moto_sent_mail(urls.moto_url), urls.host, urls.smtp_port,
                                               INBOUND_DOMAIN), sockets["mailbox"]),
    ]


def ready_info(urls: StackUrls, seeded: dict[str, Any], moto: MotoServer) -> dict[str, Any]:
    from chalicelib.shared.config import settings

    return {
        "parley_url": urls.parley_url,
        "ws_url": urls.ws_url,
        "mgmt_url": urls.mgmt_url,
        "shop_url": urls.shop_url,
        "console_url": urls.console_url,
        "moto_url": urls.moto_url,
        "mailbox_url": urls.mailbox_url,
        "smtp_port": urls.smtp_port,
        "inbound_domain": INBOUND_DOMAIN,
        "data_bucket": settings.data_bucket,
        "operator_email": seeded["operator_email"],
        "operator_password": seeded["operator_password"],
        "operator2_email": seeded["operator2_email"],
        "site_id": seeded["site_id"],
        "pid": os.getpid(),
        "moto_pid": moto.pid,
    }


def write_ready_file(path: Path, info: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(info, indent=2))
    partial.replace(path)  # atomic: readers never see half a file


def banner(info: dict[str, Any]) -> str:
    return "\n".join(
        [
            "",
            "Parley is running locally (moto, no AWS account needed).",
            f"  Demo shop (visitor widget): {info['shop_url']}",
            f"  Operator console:           {info['console_url']}",
            f"    sign in as  {info['operator_email']}",
            f"    password    {info['operator_password']}",
            f"    (a second operator, {info['operator2_email']}, has the same password)",
            f"  Websocket API:              {info['ws_url']}",
            f"  REST API:                   {info['parley_url']}/api/health",
            f"  Management API / metrics:   {info['mgmt_url']}/_local/metrics",
            f"  Local mailbox:              {info['mailbox_url']} (SMTP inlet on port {info['smtp_port']}; "
            f"mail to {MAIL_FROM} starts a dialog)",
            f"  moto:                       {info['moto_url']}",
            "Ctrl-C stops everything.",
            "",
        ]
    )


async def serve(group: ServerGroup, on_ready: Callable[[], None], scheduler: Any = None,
                mail: tuple[Any, socket.socket] | None = None) -> None:
    """Serve until SIGINT/SIGTERM (a second one stops without waiting for open sockets), and
    run the scheduled functions on their period meanwhile; ``mail``: the SMTP inlet and its socket."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if group.stopping:
            group.force_stop()
        else:
            group.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    task = asyncio.ensure_future(group.serve())
    inlet = mail[0] if mail is not None else None
    schedule = None
    try:
        if inlet is not None and mail is not None:
            await inlet.start(mail[1])
        try:
            await group.wait_started()
        except RuntimeError:
            await task  # surfaces the server's own error
            raise
        on_ready()
        schedule = asyncio.ensure_future(scheduler.serve()) if scheduler is not None else None
        await task
    finally:
        if schedule is not None:
            schedule.cancel()
        if inlet is not None:
            await inlet.stop()


def start_and_serve(
    args: argparse.Namespace, urls: StackUrls, sockets: dict[str, socket.socket], moto: MotoServer
) -> None:
    moto.start()
    seeded = seed(urls, args.operator_email, args.demo_proactive)
    from .metrics import METRICS, install_botocore_counter

    install_botocore_counter()
    METRICS.reset()  # count what handlers do, not the seeding
    uvicorn_level = "debug" if args.log_level == "debug" else ("info" if args.access_log else "warning")
    group = ServerGroup(build_listeners(urls, sockets), uvicorn_level, args.access_log)
    info = ready_info(urls, seeded, moto)

    def on_ready() -> None:
        print(banner(info), flush=True)
        if args.ready_file:
            write_ready_file(args.ready_file, info)

    asyncio.run(serve(group, on_ready, build_scheduler(), (build_inlet(), sockets["smtp"])))


def stack_urls(host: str, sockets: dict[str, socket.socket], moto_url: str) -> StackUrls:
    port = {name: bound_port(sock) for name, sock in sockets.items()}  # the real ones, for --port 0
    return StackUrls(public_host(host), port["public"], port["mgmt"], port["shop"], moto_url,
                     smtp_port=port["smtp"], mailbox_port=port["mailbox"])


def run(args: argparse.Namespace) -> int:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # app.py and chalicelib/ live at the repository root
    sockets = bind_ports(args)  # a port in use stops us here, before moto or any import
    moto = MotoServer(MOTO_HOST, release(sockets.pop("moto")))
    urls = stack_urls(args.host, sockets, moto.url)
    apply_environment(urls)  # before anything imports chalicelib
    try:
        start_and_serve(args, urls, sockets, moto)
    except KeyboardInterrupt:
        log.info("interrupted during start-up")
    finally:
        moto.stop()
        if args.ready_file:
            args.ready_file.unlink(missing_ok=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("parley").setLevel(args.log_level.upper())
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored (`cmd &`)
        signal.signal(sig, _raise_interrupt)
    try:
        return run(args)
    except (OSError, RuntimeError) as exc:  # a port in use, moto failing to start, ...
        print(f"parley local: {exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
