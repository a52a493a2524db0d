"""PynamoDB models, one table each. Table names come from settings (stage prefix)."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
    LocalSecondaryIndex,
)
from pynamodb.models import Model

from chalicelib.config import settings


class _Meta:
    region = settings.region
    host = settings.aws_endpoint
    billing_mode = "PAY_PER_REQUEST"


def _meta(name: str) -> type:
    return type("Meta", (_Meta,), {"table_name": settings.table_name(name)})


class Site(Model):
    Meta = _meta("sites")
    site_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    allowed_origins = ListAttribute(of=UnicodeAttribute, default=list)
    created_at = NumberAttribute()
    tags = UnicodeSetAttribute(null=True)  # every tag the site's operators have used


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
    Meta = _meta("operators")
    operator_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    created_at = NumberAttribute()
    by_email = OperatorEmailIndex()
    by_site = OperatorSiteIndex()


class Visitor(Model):
    Meta = _meta("visitors")
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


class VisitorEvent(Model):
    """What a visitor did and what operators changed on their card, newest last."""

    Meta = _meta("visitor_events")
    visitor_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)  # "<at, 13 digits>#<random>": sorts by time
    kind = UnicodeAttribute()  # "pageview" | "edit"
    data = UnicodeAttribute()  # the event's fields as JSON


class DialogSiteStatusIndex(GlobalSecondaryIndex):
    """Dialogs of a site in one status, most recent activity first."""

    class Meta:
        index_name = "site-status-index"
        projection = AllProjection()

    site_status = UnicodeAttribute(hash_key=True)
    last_activity = NumberAttribute(range_key=True)


class DialogAssigneeIndex(GlobalSecondaryIndex):
    """Dialogs of a site in one status assigned to one operator (or to nobody: "-")."""

    class Meta:
        index_name = "assignee-index"
        projection = AllProjection()

    assignee_key = UnicodeAttribute(hash_key=True)  # "<site_id>#<status>#<operator_id or ->"
    last_activity = NumberAttribute(range_key=True)


class DialogVisitorIndex(GlobalSecondaryIndex):
    """Every dialog a visitor ever had, in the order they started."""

    class Meta:
        index_name = "visitor-index"
        projection = AllProjection()

    visitor_id = UnicodeAttribute(hash_key=True)
    created_at = NumberAttribute(range_key=True)


class AuthorAttribute(MapAttribute):
    kind = UnicodeAttribute()
    id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)


class Dialog(Model):
    Meta = _meta("dialogs")
    dialog_id = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    visitor_id = UnicodeAttribute()
    visitor_name = UnicodeAttribute()
    status = UnicodeAttribute()
    site_status = UnicodeAttribute()
    created_at = NumberAttribute()
    last_activity = NumberAttribute()
    last_seq = NumberAttribute(default=0)
    last_text = UnicodeAttribute(null=True)
    last_author = AuthorAttribute(null=True)
    # Websocket connections of the visitor's open tabs: returned by the same UpdateItem that
    # allocates a message's seq, so delivery to the visitor costs no extra read.
    visitor_conns = UnicodeSetAttribute(null=True)
    visitor_email = UnicodeAttribute(null=True)
    tags = UnicodeSetAttribute(null=True)
    assignee_id = UnicodeAttribute(null=True)
    assignee_name = UnicodeAttribute(null=True)
    assignee_key = UnicodeAttribute()
    closed_at = NumberAttribute(null=True)
    # Bumped by every change of status or assignee (the index keys built from them), so two
    # such changes racing cannot leave the keys inconsistent: each is conditional on it.
    rev = NumberAttribute(default=0)
    by_site_status = DialogSiteStatusIndex()
    by_assignee = DialogAssigneeIndex()
    by_visitor = DialogVisitorIndex()


class MessageSeqIndex(LocalSecondaryIndex):
    class Meta:
        index_name = "seq-index"
        projection = AllProjection()

    dialog_id = UnicodeAttribute(hash_key=True)
    seq = NumberAttribute(range_key=True)


class FileAttribute(MapAttribute):
    key = UnicodeAttribute()
    name = UnicodeAttribute()
    size = NumberAttribute()
    content_type = UnicodeAttribute()


class Message(Model):
    """Keyed by the sender's client id, so a retried send is refused by a conditional put."""

    Meta = _meta("messages")
    dialog_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute(range_key=True)
    seq = NumberAttribute()
    author = AuthorAttribute()
    text = UnicodeAttribute()  # a file's caption may be empty
    created_at = NumberAttribute()
    note = BooleanAttribute(null=True)  # operators only; never sent to a visitor
    file = FileAttribute(null=True)
    by_seq = MessageSeqIndex()


class Template(Model):
    """A reply template, shared by a site's operators."""

    Meta = _meta("templates")
    site_id = UnicodeAttribute(hash_key=True)
    template_id = UnicodeAttribute(range_key=True)
    shortcut = UnicodeAttribute()
    text = UnicodeAttribute()
    updated_at = NumberAttribute()
    updated_by = UnicodeAttribute()


class ConnectionChannelIndex(GlobalSecondaryIndex):
    """Connections listening on a channel: `ops#<site_id>` or `vis#<visitor_id>`."""

    class Meta:
        index_name = "channel-index"
        projection = KeysOnlyProjection()

    channel = UnicodeAttribute(hash_key=True)


class Connection(Model):
    Meta = _meta("connections")
    connection_id = UnicodeAttribute(hash_key=True)
    role = UnicodeAttribute()
    site_id = UnicodeAttribute()
    subject_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    channel = UnicodeAttribute()
    dialog_id = UnicodeAttribute(null=True)
    connected_at = NumberAttribute()
    expires_at = NumberAttribute()  # TTL attribute (epoch seconds)
    by_channel = ConnectionChannelIndex()


TABLES: dict[str, type[Model]] = {
    "sites": Site, "operators": Operator, "visitors": Visitor, "visitor_events": VisitorEvent,
    "dialogs": Dialog, "messages": Message, "templates": Template, "connections": Connection,
}  # short name ("<prefix>-<name>" is the table) -> model
ALL_MODELS: tuple[type[Model], ...] = tuple(TABLES.values())
TIME_TO_LIVE: dict[str, str] = {"connections": "expires_at"}  # table -> TTL attribute (epoch s)
