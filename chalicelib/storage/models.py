"""PynamoDB models, one table each. Table names come from settings (stage prefix)."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
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
    settings = UnicodeAttribute(null=True)  # proactive and widget settings as JSON (triggers.Settings)


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


class VisitorEvent(Model):
    """What a visitor did and what operators changed on their card, newest last."""

    Meta = _meta("visitor_events")
    visitor_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)  # "<at, 13 digits>#<random>": sorts by time
    kind = UnicodeAttribute()  # "pageview" | "edit" | "event" | "identify" | "greeting"
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


class DialogMailIndex(GlobalSecondaryIndex):
    """Sparse: dialogs with operator answers to email once `mail_due_at` passes (the mirror)."""

    class Meta:
        index_name = "mail-index"
        projection = AllProjection()

    mail_shard = UnicodeAttribute(hash_key=True)
    mail_due_at = NumberAttribute(range_key=True)


class DialogWaitIndex(GlobalSecondaryIndex):
    """Sparse: dialogs whose visitor waits for an operator's answer, by how long (the answer-time
    schedule, docs/routing.md)."""

    class Meta:
        index_name = "wait-index"
        projection = AllProjection()

    wait_shard = UnicodeAttribute(hash_key=True)
    waiting_since = NumberAttribute(range_key=True)


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
    visitor_segments = UnicodeSetAttribute(null=True)  # the visitor's segments, for the list filter
    assignee_id = UnicodeAttribute(null=True)
    assignee_name = UnicodeAttribute(null=True)
    assignee_key = UnicodeAttribute()
    closed_at = NumberAttribute(null=True)
    # Bumped by every change of status or assignee (the index keys built from them), so two
    # such changes racing cannot leave the keys inconsistent: each is conditional on it.
    rev = NumberAttribute(default=0)
    version = NumberAttribute(null=True)  # bumped by every write: the newest summary wins on clients
    # Email continuity (docs/email.md): what the visitor read in the widget, what was emailed,
    # when the next email is due, and the thread's Message-IDs and subject.
    channel = UnicodeAttribute(null=True)  # "email" when the dialog started by email
    visitor_read_seq = NumberAttribute(null=True)
    mailed_seq = NumberAttribute(null=True)
    mailed_seqs = NumberSetAttribute(null=True)  # the answers that went out by email
    mail_shard = UnicodeAttribute(null=True)
    mail_due_at = NumberAttribute(null=True)
    mail_failures = NumberAttribute(null=True)
    mail_subject = UnicodeAttribute(null=True)
    mail_root_ref = UnicodeAttribute(null=True)
    mail_last_ref = UnicodeAttribute(null=True)
    # Routing (docs/routing.md). The routing table decides who has the dialog; `assignee_*`
    # mirror it for the lists. `waiting_since`: the oldest visitor message not answered yet.
    waiting_since = NumberAttribute(null=True)
    wait_shard = UnicodeAttribute(null=True)
    late = BooleanAttribute(null=True)  # waited over the site's answer time
    offered_to = UnicodeAttribute(null=True)  # waited over reassign time: offered to this operator
    offered_name = UnicodeAttribute(null=True)
    offered_at = NumberAttribute(null=True)
    queue_no = NumberAttribute(null=True)  # its ticket in the site's queue while it waits there
    queued_at = NumberAttribute(null=True)
    assigned_at = NumberAttribute(null=True)
    previous_dialog_id = UnicodeAttribute(null=True)  # the closed dialog this one continues
    rating = UnicodeAttribute(null=True)  # "good" | "bad"
    rating_comment = UnicodeAttribute(null=True)
    rated_at = NumberAttribute(null=True)
    bot = UnicodeAttribute(null=True)  # "active" | "handed_off"
    bot_state = UnicodeAttribute(null=True)  # bot.BotState as JSON
    by_site_status = DialogSiteStatusIndex()
    by_assignee = DialogAssigneeIndex()
    by_visitor = DialogVisitorIndex()
    by_mail = DialogMailIndex()
    by_wait = DialogWaitIndex()


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
    via = UnicodeAttribute(null=True)  # "email": the visitor wrote it in an email reply
    # Operators only: the email it came from (sender, subject, the full text with quotes) and
    # the attachments that could not be attached (JSON list of {name, size, reason}).
    email_from = UnicodeAttribute(null=True)
    email_subject = UnicodeAttribute(null=True)
    original = UnicodeAttribute(null=True)
    left_out = UnicodeAttribute(null=True)
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
    faq = BooleanAttribute(null=True)  # the site's bot may answer with it
    keywords = UnicodeAttribute(null=True)  # words the bot matches besides the text


class SiteConfig(Model):
    """A site's triggers, segments and blocks ("c#trigger#<id>", "c#segment#<id>",
    "c#block#<id>": one Query reads them all) and each trigger's counters ("s#<trigger_id>")."""

    Meta = _meta("site_config")
    site_id = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True)
    doc = UnicodeAttribute(null=True)  # the document as JSON (triggers.trigger_doc, ...)
    shown = NumberAttribute(null=True)
    held_out = NumberAttribute(null=True)
    accepted = NumberAttribute(null=True)
    goal_shown = NumberAttribute(null=True)
    goal_held = NumberAttribute(null=True)


class Greeting(Model):
    """A proactive greeting shown (or held out) to a visitor.

    Keys: "s#<session_id>#<slot>" for a trigger's greeting (a conditional put on the slot
    decides which greeting a session gets), "m#<id>" for an operator's invitation,
    "e#<trigger_id>" for a follow-up email (once per visitor and trigger)."""

    Meta = _meta("greetings")
    visitor_id = UnicodeAttribute(hash_key=True)
    greeting_key = UnicodeAttribute(range_key=True)
    site_id = UnicodeAttribute()
    trigger_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    held_out = BooleanAttribute(default=False)
    text = UnicodeAttribute(null=True)
    author = AuthorAttribute(null=True)
    at = NumberAttribute()
    accepted_at = NumberAttribute(null=True)
    converted_at = NumberAttribute(null=True)


class MailItem(Model):
    """Email bookkeeping, one key each: "ref#<Message-ID local part>" -> the dialog an email
    of the thread belongs to (In-Reply-To/References lookup); "in#<SES message id>" -> an
    inbound mail already posted (idempotency); "addr#<local part>" -> the site a plain address
    of the inbound domain (support@...) belongs to."""

    Meta = _meta("mail")
    mail_key = UnicodeAttribute(hash_key=True)
    site_id = UnicodeAttribute()
    dialog_id = UnicodeAttribute(null=True)
    at = NumberAttribute()
    expires_at = NumberAttribute(null=True)  # TTL (epoch seconds) for "in#" items


class RoutingItem(Model):
    """Who answers what, per site (docs/routing.md). Every change that moves capacity is one
    TransactWriteItems over this small table, so its counters cannot drift apart:

    - "op#<operator_id>": presence, console connections, `load` (open dialogs assigned) and
      `cap` (the operator's override, else the site's default);
    - "a#<dialog_id>": the dialog is assigned to `operator_id` and counts in its load;
    - "queue": the site's FIFO queue, tickets `head` (next served) to `tail` (next issued);
    - "q#<ticket, 12 digits>" and "in#<dialog_id>": a queued dialog, by ticket and by dialog."""

    Meta = _meta("routing")
    site_id = UnicodeAttribute(hash_key=True)
    item_key = UnicodeAttribute(range_key=True)
    operator_id = UnicodeAttribute(null=True)
    dialog_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute(null=True)
    presence = UnicodeAttribute(null=True)  # chosen: "online" | "away" | "offline"
    conns = UnicodeSetAttribute(null=True)  # the operator's open console connections
    gone_at = NumberAttribute(null=True)  # when the last one closed
    load = NumberAttribute(null=True)
    cap = NumberAttribute(null=True)
    cap_override = NumberAttribute(null=True)
    last_assigned_at = NumberAttribute(null=True)
    head = NumberAttribute(null=True)
    tail = NumberAttribute(null=True)
    ticket = NumberAttribute(null=True)
    handle_ms = NumberAttribute(null=True)  # "queue": a moving average of assigned-to-closed time
    at = NumberAttribute(null=True)


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
    "site_config": SiteConfig, "greetings": Greeting, "mail": MailItem, "routing": RoutingItem,
}  # short name ("<prefix>-<name>" is the table) -> model
ALL_MODELS: tuple[type[Model], ...] = tuple(TABLES.values())
TIME_TO_LIVE: dict[str, str] = {"connections": "expires_at", "mail": "expires_at"}  # table -> TTL attribute (epoch s)
