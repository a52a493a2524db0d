"""The mail table: email bookkeeping (thread lookups, inbound idempotency, support addresses)."""
from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.storage.base import conditional_put, table_meta


class MailItem(Model):
    """Email bookkeeping, one key each: "ref#<Message-ID local part>" -> the dialog an email
    of the thread belongs to (In-Reply-To/References lookup); "in#<SES message id>" -> an
    inbound mail already posted (idempotency); "addr#<local part>" -> the site a plain address
    of the inbound domain (support@...) belongs to."""

    Meta = table_meta("mail")
    mail_key = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    dialog_id = UnicodeAttribute(null=True)
    at = NumberAttribute()
    expires_at = NumberAttribute(null=True)  # TTL (epoch seconds) for "in#" items


def get_mail_item(mail_key: str) -> MailItem | None:
    """GetItem mail[mail_key]."""
    try:
        return MailItem.get(mail_key)
    except DoesNotExist:
        return None


def put_mail_item(item: MailItem, only_new: bool = False) -> bool:
    """PutItem mail; with `only_new`, False when the key is taken (kept as it was)."""
    return conditional_put(item, MailItem.mail_key.does_not_exist() if only_new else None)
