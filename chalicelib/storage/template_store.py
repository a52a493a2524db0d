"""The templates table: a site's reply templates."""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.storage.base import conditional_put, table_meta


class Template(Model):
    """A reply template, shared by a site's operators."""

    Meta = table_meta("templates")
    site_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    shortcut = UnicodeAttribute()
    text = UnicodeAttribute()
    updated_at = NumberAttribute()
    updated_by = UnicodeAttribute()
    faq = BooleanAttribute(null=True)  # the site's bot may answer with it
    keywords = UnicodeAttribute(null=True)  # words the bot matches besides the text


def site_templates(site_id: str) -> list[Template]:
    """Query templates[site_id]."""
    return list(Template.query(site_id))


def put_template(template: Template, must_exist: bool) -> bool:
    """PutItem templates; with `must_exist`, only over a template that is there."""
    return conditional_put(template, Template.template_id.exists() if must_exist else None)


def delete_template(site_id: str, template_id: str) -> None:
    """DeleteItem templates[site_id, template_id]."""
    Template(site_id, template_id).delete()
