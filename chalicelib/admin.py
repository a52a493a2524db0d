"""Admin tools: create tables, seed a demo site. Not on any request path."""
from __future__ import annotations

from typing import Any

import boto3

from chalicelib.shared import auth
from chalicelib.shared.clock import new_id, now_ms
from chalicelib.shared.config import settings
from chalicelib.storage import mail_item_store, operator_store, site_store
from chalicelib.storage.mail_item_store import MailItem
from chalicelib.storage.operator_store import Operator
from chalicelib.storage.site_store import Site
from chalicelib.storage.tables import ALL_MODELS, TIME_TO_LIVE


def create_tables() -> None:
    """Creates every table that does not exist yet, turns TTL on where the models ask, and
    makes the data bucket (local mode and tests; on AWS the deploy template does all this)."""
    for model in ALL_MODELS:
        if not model.exists():
            model.create_table(wait=True)
    client = boto3.client("dynamodb", region_name=settings.region, endpoint_url=settings.aws_endpoint)
    for table, attribute in TIME_TO_LIVE.items():
        client.update_time_to_live(
            TableName=settings.table_name(table),
            TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute},
        )
    s3 = boto3.client("s3", region_name=settings.region, endpoint_url=settings.aws_endpoint)
    try:
        s3.create_bucket(Bucket=settings.data_bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass


def seed_demo(allowed_origins: list[str], operator_email: str, operator_password: str,
              site_id: str = "demo", operator_name: str = "Ann") -> dict[str, Any]:
    """The demo shop's site and its first operator (kept if they already exist)."""
    Site(site_id, name="Parley Demo Shop", allowed_origins=allowed_origins, created_at=now_ms()).save()
    register_mail_addresses(site_id)
    email = operator_email.strip().lower()
    operator = operator_store.get_operator_by_email(email) or Operator(
        new_id("o"), site_id=site_id, email=email, name=operator_name, created_at=now_ms())
    operator.password_hash = auth.hash_password(operator_password)
    operator.save()
    return {"site_id": site_id, "operator_email": email, "operator_password": operator_password}


SUPPORT_ADDRESS = "support"


def register_mail_addresses(site_id: str) -> None:
    """Mail to <site_id>@<inbound domain> starts a dialog with the site, and so does mail to
    support@ for the first site that claims it."""
    for local in dict.fromkeys((SUPPORT_ADDRESS, site_id.lower())):
        mail_item_store.put_mail_item(MailItem(f"addr#{local}", site_id=site_id, at=now_ms()), only_new=True)


def bootstrap_site(site_id: str, name: str, allowed_origins: list[str] | None) -> list[str]:
    """Creates the site on first deploy; later deploys replace its origins only when given."""
    site = site_store.get_site(site_id)
    if site is None:
        site = Site(site_id, name=name, allowed_origins=allowed_origins or [], created_at=now_ms())
        site.save()
        register_mail_addresses(site_id)
    elif allowed_origins is not None:
        site.allowed_origins = allowed_origins  # type: ignore[assignment]
        site.save()
    return [str(origin) for origin in site.allowed_origins]


def bootstrap_operator(site_id: str, email: str, name: str, password: str, reset: bool) -> str:
    """The site's first operator: "created", "reset" (new password) or "kept" as it was."""
    email = email.strip().lower()
    operator = operator_store.get_operator_by_email(email)
    if operator is not None and not reset:
        return "kept"
    outcome = "reset" if operator is not None else "created"
    operator = operator or Operator(new_id("o"), site_id=site_id, email=email, name=name, created_at=now_ms())
    operator.password_hash = auth.hash_password(password)
    operator.save()
    return outcome


DEMO_TRIGGER = {
    "name": "Help on the pricing page", "enabled": True, "holdout_percent": 10,
    "match": {"all": [{"field": "url", "op": "contains", "value": "/pricing"},
                      {"field": "time_on_page", "op": "gte", "value": 20}]},
    "action": {"kind": "message", "text": "Hi {visitor.name|there}! Comparing plans? I can help you pick one.",
               "sender": {"kind": "site"}, "open_desktop": True, "open_mobile": False},
}
DEMO_SEGMENTS = (
    {"name": "Returning", "match": {"all": [{"field": "visits", "op": "gte", "value": 2}]}},
    {"name": "Big cart", "match": {"all": [{"field": "event", "key": "added_to_cart.value", "op": "gt", "value": 100}]}},
)


def seed_demo_proactive(site_id: str) -> None:
    """A greeting on the demo shop's pricing page and two segments, for trying Parley out."""
    import json

    from chalicelib.site import triggers
    from chalicelib.storage.site_config_store import SiteConfig

    trigger = triggers.check_trigger(DEMO_TRIGGER, trigger_id="t_demo_pricing", created_at=now_ms(), operator_ids=())
    SiteConfig(site_id, f"c#trigger#{trigger.trigger_id}", doc=json.dumps(triggers.trigger_doc(trigger))).save()
    for number, doc in enumerate(DEMO_SEGMENTS):
        segment = triggers.check_segment(doc, segment_id=f"g_demo{number}")
        SiteConfig(site_id, f"c#segment#{segment.segment_id}",
                   doc=json.dumps(triggers.segment_doc(segment) | {"created_at": now_ms()})).save()
