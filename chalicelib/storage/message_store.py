"""The messages table: a dialog's messages, keyed by the sender's client id."""
from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import AuthorAttribute, conditional_put, table_meta


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

    Meta = table_meta("messages")
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


def insert_message(message: Message) -> bool:
    """PutItem messages, refused when this dialog already holds the client id (a retry)."""
    return conditional_put(message, Message.client_id.does_not_exist())


def get_message(dialog_id: str, client_id: str) -> Message | None:
    """GetItem messages[dialog_id, client_id]."""
    try:
        return Message.get(dialog_id, client_id)
    except DoesNotExist:
        return None


def messages_after(dialog_id: str, after_seq: int, limit: int) -> list[Message]:
    """Query messages.seq-index[dialog_id, seq > after_seq], oldest first."""
    return list(Message.by_seq.query(dialog_id, Message.seq > after_seq, limit=limit))
