"""The local stack's URLs and the environment Parley's code reads its settings from.

``chalicelib.shared.config`` reads the environment once, at import, so :func:`apply_environment`
must run before ``app`` or ``chalicelib`` is imported.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

STAGE = "local"
REGION = "us-east-1"
INBOUND_DOMAIN = "mail.demo.shop"  # replies to reply+<token>@ land in dialogs (the local SMTP inlet)
MAIL_FROM = f"support@{INBOUND_DOMAIN}"
MAIL_DELAY_SECONDS = "20"  # the mirror's debounce locally (a caller's PARLEY_MAIL_DELAY_SECONDS wins)


def public_host(bind_host: str) -> str:
    """The host browsers should use for a server bound to ``bind_host``."""
    return "127.0.0.1" if bind_host in ("", "0.0.0.0", "::") else bind_host


def _origins(port: int) -> list[str]:
    return [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]


@dataclass(frozen=True)
class StackUrls:
    host: str
    port: int
    mgmt_port: int
    shop_port: int
    moto_url: str
    smtp_port: int = 0
    mailbox_port: int = 0

    @property
    def parley_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/ws"

    @property
    def console_url(self) -> str:
        return f"{self.parley_url}/console/"

    @property
    def mgmt_url(self) -> str:
        return f"http://{self.host}:{self.mgmt_port}"

    @property
    def ws_endpoint(self) -> str:
        """What handlers give boto3 as the Management API endpoint (stage included)."""
        return f"{self.mgmt_url}/{STAGE}"

    @property
    def shop_url(self) -> str:
        return f"http://{self.host}:{self.shop_port}/"

    @property
    def mailbox_url(self) -> str:
        return f"http://{self.host}:{self.mailbox_port}/"

    @property
    def console_origins(self) -> list[str]:
        return _origins(self.port)

    @property
    def shop_origins(self) -> list[str]:
        return _origins(self.shop_port)


def apply_environment(urls: StackUrls) -> None:
    """Point Parley at moto and at this gateway; never at a real AWS account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "PARLEY_STAGE": STAGE,
            "PARLEY_SECRET": os.environ.get("PARLEY_SECRET") or secrets.token_urlsafe(32),
            "PARLEY_AWS_ENDPOINT": urls.moto_url,
            "PARLEY_WS_ENDPOINT": urls.ws_endpoint,
            "PARLEY_WS_URL": urls.ws_url,
            "PARLEY_CONSOLE_ORIGINS": ",".join(urls.console_origins),
            "PARLEY_INBOUND_DOMAIN": INBOUND_DOMAIN,
            "PARLEY_MAIL_FROM": MAIL_FROM,
            "PARLEY_PUBLIC_URL": urls.parley_url,
            "PARLEY_MAIL_DELAY_SECONDS": os.environ.get("PARLEY_MAIL_DELAY_SECONDS") or MAIL_DELAY_SECONDS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
