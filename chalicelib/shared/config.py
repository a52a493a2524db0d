"""Settings, read once from the environment at import (cold start)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field


def _csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    stage: str = "local"
    region: str = "us-east-1"
    table_prefix: str = "parley-local"
    data_bucket: str = "parley-local-data"  # chat files (files/...) and raw inbound mail
    secret: bytes = b""
    aws_endpoint: str | None = None
    ws_endpoint: str | None = None
    ws_url: str = ""
    console_origins: tuple[str, ...] = field(default_factory=tuple)
    mail_from: str = ""  # the address Parley's emails come from (verified in SES)
    inbound_domain: str = ""  # replies to reply+<token>@<inbound_domain> land in dialogs
    public_url: str = ""  # where the API is reached from outside: unsubscribe links
    mail_delay_s: int = 120  # an unseen operator answer is emailed this long after the last one
    visitor_token_days: int = 30
    operator_token_hours: int = 12

    @property
    def mail_enabled(self) -> bool:
        """Parley sends email only with a sender and a domain replies come back to."""
        return bool(self.mail_from and self.inbound_domain)

    def table_name(self, name: str) -> str:
        return f"{self.table_prefix}-{name}"


def _int(value: str | None, default: int) -> int:
    try:
        return max(0, int(value)) if value else default
    except ValueError:
        return default


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    stage = env.get("PARLEY_STAGE", "local")
    table_prefix = env.get("PARLEY_TABLE_PREFIX", f"parley-{stage}")
    return Settings(
        stage=stage,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        table_prefix=table_prefix,
        data_bucket=env.get("PARLEY_DATA_BUCKET") or f"{table_prefix}-data",
        secret=env.get("PARLEY_SECRET", "").encode(),
        aws_endpoint=env.get("PARLEY_AWS_ENDPOINT") or None,
        ws_endpoint=env.get("PARLEY_WS_ENDPOINT") or None,
        ws_url=env.get("PARLEY_WS_URL", ""),
        console_origins=_csv(env.get("PARLEY_CONSOLE_ORIGINS", "")),
        mail_from=env.get("PARLEY_MAIL_FROM", ""),
        inbound_domain=env.get("PARLEY_INBOUND_DOMAIN", "").strip().lower(),
        public_url=env.get("PARLEY_PUBLIC_URL", "").rstrip("/"),
        mail_delay_s=_int(env.get("PARLEY_MAIL_DELAY_SECONDS"), 120),
    )


settings = load_settings()
