"""The sites table: a site, its tags and its settings (JSON)."""
from __future__ import annotations

from pynamodb.attributes import ListAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.storage.base import conditional_update, table_meta


class Site(Model):
    Meta = table_meta("sites")
    site_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    allowed_origins = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = NumberAttribute()
    tags = UnicodeSetAttribute(null=True)  # every tag the site's operators have used
    settings = UnicodeAttribute(null=True)  # proactive and widget settings as JSON (triggers.Settings)


def get_site(site_id: str) -> Site | None:
    """GetItem sites[site_id]."""
    try:
        return Site.get(site_id)
    except DoesNotExist:
        return None


def add_site_tag(site_id: str, tag: str) -> None:
    """UpdateItem sites[site_id]: the tag joins the site's list (a set: adding twice is once)."""
    Site(site_id).update(actions=[Site.tags.add({tag})], condition=Site.site_id.exists())


def set_site_settings(site_id: str, settings_json: str) -> bool:
    """UpdateItem sites[site_id]: the proactive and widget settings."""
    return conditional_update(Site(site_id), [Site.settings.set(settings_json)], Site.site_id.exists())
