"""A site's setup as data (settings, triggers, segments, blocks), loaded in one Query."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from chalicelib.shared.errors import NotFound, ParleyError
from chalicelib.site import blocks, triggers
from chalicelib.site import settings as site_settings
from chalicelib.site.blocks import Block
from chalicelib.site.settings import Settings
from chalicelib.site.triggers import Segment, Trigger
from chalicelib.storage import site_config_store, site_store
from chalicelib.storage.site_store import Site

logger = Logger(service="parley", child=True)


@dataclass(frozen=True)
class SiteSetup:
    site: Site
    settings: Settings
    triggers: tuple[Trigger, ...]
    segments: tuple[Segment, ...]
    blocks: tuple[Block, ...]

    @property
    def message_triggers(self) -> tuple[Trigger, ...]:
        return tuple(t for t in self.triggers if t.enabled and isinstance(t.action, triggers.MessageAction))

    @property
    def email_triggers(self) -> tuple[Trigger, ...]:
        return tuple(t for t in self.triggers if t.enabled and isinstance(t.action, triggers.EmailAction))


class _AnyOperator:
    """Stored triggers were checked when saved; an operator since deleted still reads back."""

    def __contains__(self, _item: object) -> bool:
        return True


def settings_of(site: Site) -> site_settings.Settings:
    try:
        return site_settings.settings_from_doc(json.loads(site.settings) if site.settings else None)
    except (ValueError, ParleyError):
        logger.warning("stored settings unreadable; defaults used", extra={"site_id": site.site_id})
        return site_settings.Settings()


def load(site: Site) -> SiteSetup:
    """The site's setup: one Query of site_config (the site record is already read)."""
    found: dict[str, list[Any]] = {"trigger": [], "segment": [], "block": []}
    for item in site_config_store.site_config(site.site_id):
        kind, _, item_id = item.item_key[2:].partition("#")
        try:
            found[kind].append(_parse(kind, item_id, json.loads(item.doc or "{}")))
        except (KeyError, ValueError, ParleyError):
            logger.warning("stored item unreadable; skipped", extra={"key": item.item_key})
    return SiteSetup(site, settings_of(site), tuple(sorted(found["trigger"], key=lambda t: t.created_at)),
                     tuple(found["segment"]), tuple(found["block"]))


def _parse(kind: str, item_id: str, doc: dict[str, Any]) -> Any:
    created_at = int(doc.get("created_at") or 0)
    if kind == "trigger":
        return triggers.check_trigger(doc, trigger_id=item_id, created_at=created_at, operator_ids=_AnyOperator())
    if kind == "segment":
        return triggers.check_segment(doc, segment_id=item_id)
    return blocks.check_block(doc, block_id=item_id, created_at=created_at)


def load_site(site_id: str) -> SiteSetup:
    site = site_store.get_site(site_id)
    if site is None:
        raise NotFound("unknown site")
    return load(site)
