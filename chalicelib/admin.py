"""Admin tools: create tables, seed a demo site. Not on any request path."""
from __future__ import annotations

from typing import Any

import boto3

from chalicelib import auth
from chalicelib.clock import new_id, now_ms
from chalicelib.config import settings
from chalicelib.storage import access
from chalicelib.storage.models import ALL_MODELS, Connection, Operator, Site


def create_tables() -> None:
    """Creates every table that does not exist yet, and turns TTL on for connections."""
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True)
    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.aws_endpoint)
    client.update_time_to_live(
        TableName=Connection.Meta.table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )


def seed_demo(allowed_origins: list[str], operator_email: str, operator_password: str,
              site_id: str = "demo", operator_name: str = "Ann") -> dict[str, Any]:
    """The demo shop's site and its first operator (kept if they already exist)."""
    Site(site_id, name="Parley Demo Shop", allowed_origins=allowed_origins, created_at=now_ms()).save()
    email = operator_email.strip().lower()
    operator = access.get_operator_by_email(email) or Operator(
        new_id("o"), site_id=site_id, email=email, name=operator_name, created_at=now_ms())
    operator.password_hash = auth.hash_password(operator_password)
    operator.save()
    return {"site_id": site_id, "operator_email": email, "operator_password": operator_password}
