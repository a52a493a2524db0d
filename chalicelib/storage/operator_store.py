"""The operators table: sign-in by email, the site's team."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.storage.base import table_meta


class OperatorEmailIndex(GlobalSecondaryIndex):
    class Meta:
        index_name = "email-index"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class OperatorSiteIndex(GlobalSecondaryIndex):
    """A site's operators, without their password hashes."""

    class Meta:
        index_name = "site-index"
        projection = IncludeProjection(["name", "email"])

    site_id = UnicodeAttribute(hash_key=True)


class Operator(Model):
    Meta = table_meta("operators")
    operator_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = NumberAttribute()
    by_email = OperatorEmailIndex()
    by_site = OperatorSiteIndex()


def get_operator_by_email(email: str) -> Operator | None:
    """Query operators.email-index[email]."""
    return next(iter(Operator.by_email.query(email, limit=1)), None)


def get_operator(operator_id: str) -> Operator | None:
    """GetItem operators[operator_id]."""
    try:
        return Operator.get(operator_id)
    except DoesNotExist:
        return None


def site_operators(site_id: str) -> list[Operator]:
    """Query operators.site-index[site_id] (names and emails only)."""
    return list(Operator.by_site.query(site_id))
