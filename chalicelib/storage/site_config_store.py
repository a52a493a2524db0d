"""The site_config table: a site's triggers, segments and blocks, and each trigger's counters."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import table_meta


class SiteConfig(Model):
    """A site's triggers, segments and blocks ("c#trigger#<id>", "c#segment#<id>",
    "c#block#<id>": one Query reads them all) and each trigger's counters ("s#<trigger_id>")."""

    Meta = table_meta("site_config")
    site_id = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True)
    doc = UnicodeAttribute(null=True)  # the document as JSON (triggers.trigger_doc, ...)
    shown = NumberAttribute(null=True)
    held_out = NumberAttribute(null=True)
    accepted = NumberAttribute(null=True)
    goal_shown = NumberAttribute(null=True)
    goal_held = NumberAttribute(null=True)


def site_config(site_id: str) -> list[SiteConfig]:
    """Query site_config[site_id, begins_with "c#"]: every trigger, segment and block."""
    return list(SiteConfig.query(site_id, SiteConfig.item_key.startswith("c#")))


def put_config_item(item: SiteConfig) -> None:
    """PutItem site_config."""
    item.save()


def delete_config_item(site_id: str, item_key: str) -> None:
    """DeleteItem site_config[site_id, item_key]."""
    SiteConfig(site_id, item_key).delete()


def trigger_counters(site_id: str) -> list[SiteConfig]:
    """Query site_config[site_id, begins_with "s#"]: each trigger's counters."""
    return list(SiteConfig.query(site_id, SiteConfig.item_key.startswith("s#")))


def count_for_trigger(site_id: str, trigger_id: str, **counts: int) -> None:
    """UpdateItem site_config[site_id, "s#<trigger_id>"]: adds to counters (atomic)."""
    item = SiteConfig(site_id, f"s#{trigger_id}")
    item.update(actions=[getattr(SiteConfig, name).add(value) for name, value in counts.items()])
