"""The visitors table: a visitor's card, tracking state and the indexes that find visitors
(live on a site, due for the schedule, follow-ups, by shop user id, by email)."""
from __future__ import annotations

from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, NumberAttribute, UnicodeAttribute, UnicodeSetAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.storage.base import conditional_put, conditional_update, table_meta


class VisitorLiveIndex(GlobalSecondaryIndex):
    """Sparse: a site's visitors with a page open now (the visitor monitor)."""

    class Meta:
        index_name = "live-index"
        projection = AllProjection()

    live_site = UnicodeAttribute(hash_key=True)
    active_until = NumberAttribute(range_key=True)


class VisitorDueIndex(GlobalSecondaryIndex):
    """Sparse: visitors with a page open whom a trigger may still greet this session, spread
    over shards; the scheduled evaluation reads only these."""

    class Meta:
        index_name = "due-index"
        projection = AllProjection()

    due_shard = UnicodeAttribute(hash_key=True)
    active_until = NumberAttribute(range_key=True)


class VisitorFollowupIndex(GlobalSecondaryIndex):
    """Sparse: visitors who left and whom a follow-up email may be owed, by when it is due."""

    class Meta:
        index_name = "followup-index"
        projection = AllProjection()

    followup_shard = UnicodeAttribute(hash_key=True)
    followup_at = NumberAttribute(range_key=True)


class VisitorExternalIndex(GlobalSecondaryIndex):
    """Sparse: verified visitors by the shop's own user id."""

    class Meta:
        index_name = "external-index"
        projection = KeysOnlyProjection()

    site_external = UnicodeAttribute(hash_key=True)  # "<site_id>#<shop user id>"


class VisitorEmailIndex(GlobalSecondaryIndex):
    """Sparse: a site's visitors by email, for mail that starts a dialog."""

    class Meta:
        index_name = "email-index"
        projection = KeysOnlyProjection()

    site_email = UnicodeAttribute(hash_key=True)  # "<site_id>#<email, lower case>"


class Visitor(Model):
    Meta = table_meta("visitors")
    visitor_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    created_at = NumberAttribute()
    open_dialog_id = UnicodeAttribute(null=True)
    last_dialog_id = UnicodeAttribute(null=True)  # stays after a close: a reload shows it
    name = UnicodeAttribute(null=True)
    email = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    current_url = UnicodeAttribute(null=True)
    current_title = UnicodeAttribute(null=True)
    first_referrer = UnicodeAttribute(null=True)
    device = UnicodeAttribute(null=True)
    browser = UnicodeAttribute(null=True)
    os = UnicodeAttribute(null=True)
    visits = NumberAttribute(default=0)
    last_seen = NumberAttribute(null=True)
    # Tracking (docs/proactive.md). Maps are JSON strings: read and written whole.
    session_id = UnicodeAttribute(null=True)
    session_started = NumberAttribute(null=True)
    page_started = NumberAttribute(null=True)
    session_urls = ListAttribute(of=UnicodeAttribute, null=True)
    session_referrer = UnicodeAttribute(null=True)
    utm = UnicodeAttribute(null=True)
    search_query = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    path_views = UnicodeAttribute(null=True)
    events = UnicodeAttribute(null=True)
    segments = UnicodeSetAttribute(null=True)
    external_id = UnicodeAttribute(null=True)
    verified = BooleanAttribute(null=True)
    site_external = UnicodeAttribute(null=True)
    live_site = UnicodeAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    active_until = NumberAttribute(null=True)
    followup_shard = UnicodeAttribute(null=True)
    followup_at = NumberAttribute(null=True)
    popup_session = UnicodeAttribute(null=True)  # the session the popup count is for
    popups_used = NumberAttribute(null=True)
    last_popup_at = NumberAttribute(null=True)
    site_email = UnicodeAttribute(null=True)
    mail_opt_out = BooleanAttribute(null=True)  # unsubscribed from emailed answers
    version = NumberAttribute(default=0)  # tracking writes are conditional on it
    by_live = VisitorLiveIndex()
    by_due = VisitorDueIndex()
    by_followup = VisitorFollowupIndex()
    by_external = VisitorExternalIndex()
    by_email = VisitorEmailIndex()


def get_visitor(visitor_id: str) -> Visitor | None:
    """GetItem visitors[visitor_id]."""
    try:
        return Visitor.get(visitor_id)
    except DoesNotExist:
        return None


def put_visitor(visitor: Visitor) -> None:
    """PutItem visitors."""
    visitor.save()


def latest_dialog_id(visitor_id: str) -> str | None:
    """GetItem visitors[visitor_id]: the visitor's open dialog, else the last one (closed)."""
    visitor = get_visitor(visitor_id)
    return (visitor.open_dialog_id or visitor.last_dialog_id) if visitor else None


def claim_open_dialog(visitor_id: str, dialog_id: str, replacing: str | None = None) -> bool:
    """UpdateItem visitors[visitor_id]: sets open_dialog_id unless another tab already did.

    `replacing` is a closed dialog the visitor's record may still name (closing clears it in a
    second step); it counts as no open dialog."""
    free = Visitor.open_dialog_id.does_not_exist()
    if replacing:
        free = free | (Visitor.open_dialog_id == replacing)
    actions = [Visitor.open_dialog_id.set(dialog_id), Visitor.last_dialog_id.set(dialog_id)]
    return conditional_update(Visitor(visitor_id), actions, Visitor.visitor_id.exists() & free)


def release_open_dialog(visitor_id: str, dialog_id: str) -> None:
    """UpdateItem visitors[visitor_id]: forgets the open dialog if it is still this one."""
    conditional_update(Visitor(visitor_id), [Visitor.open_dialog_id.remove()],
                        Visitor.open_dialog_id == dialog_id)


def update_visitor(visitor_id: str, site_id: str, actions: list[Any]) -> Visitor | None:
    """UpdateItem visitors[visitor_id] when it is the site's; the visitor as updated, or None."""
    visitor = Visitor(visitor_id)
    if not conditional_update(visitor, actions, Visitor.site_id == site_id):
        return None
    return visitor


def update_visitor_at_version(visitor_id: str, version: int, actions: list[Any]) -> bool:
    """UpdateItem visitors[visitor_id] if still at `version` (bumped here): tracking writes
    are computed from a read, so a racing write makes this False and the caller reads again."""
    still = Visitor.version == version if version else (Visitor.version.does_not_exist() | (Visitor.version == 0))
    return conditional_update(Visitor(visitor_id), [*actions, Visitor.version.set(version + 1)],
                               Visitor.visitor_id.exists() & still)


def live_visitors(site_id: str, now_ms: int, limit: int) -> list[Visitor]:
    """Query visitors.live-index[site_id, active_until > now], most lasting first."""
    return list(Visitor.by_live.query(site_id, Visitor.active_until > now_ms, scan_index_forward=False,
                                      limit=limit))


def due_visitors(shard: str, now_ms: int) -> Any:
    """Query visitors.due-index[shard, active_until > now], all pages (an iterator)."""
    return Visitor.by_due.query(shard, Visitor.active_until > now_ms)


def followups_due(shard: str, now_ms: int) -> Any:
    """Query visitors.followup-index[shard, followup_at <= now], all pages (an iterator)."""
    return Visitor.by_followup.query(shard, Visitor.followup_at <= now_ms)


def verified_visitor(site_id: str, external_id: str) -> str | None:
    """Query visitors.external-index["site#external id"]: the verified visitor's id."""
    found = next(iter(Visitor.by_external.query(f"{site_id}#{external_id}", limit=1)), None)
    return found.visitor_id if found else None


def visitor_by_email(email_key: str) -> str | None:
    """Query visitors.email-index["<site>#<email>"] (visitors.email_key): the visitor with this email."""
    found = next(iter(Visitor.by_email.query(email_key, limit=1)), None)
    return found.visitor_id if found else None


def create_visitor(visitor: Visitor) -> bool:
    """PutItem visitors unless the id is taken."""
    return conditional_put(visitor, Visitor.visitor_id.does_not_exist())
