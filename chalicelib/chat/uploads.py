"""Files in chat: a presigned upload for the sender, and the checks a message's attached file passes."""
from __future__ import annotations

from typing import Any

from chalicelib import protocol
from chalicelib.dialogs import files
from chalicelib.shared.clock import new_id
from chalicelib.shared.errors import Invalid
from chalicelib.storage import blobs
from chalicelib.storage.connection_store import Connection
from chalicelib.storage.message_store import FileAttribute


def upload_answer(frame: protocol.Frame, site_id: str, visitor_id: str) -> dict[str, Any]:
    upload = frame.upload
    assert upload is not None
    key = files.key_for(site_id, visitor_id, new_id("f"))
    signed = blobs.presigned_post(key, upload.content_type, files.MAX_BYTES, files.UPLOAD_EXPIRES_S)
    return {"type": "upload", "client_id": frame.client_id, "url": signed["url"], "fields": signed["fields"],
            "file": {"key": key, "name": upload.name}, "max_bytes": files.MAX_BYTES}


def attached_file(conn: Connection, ref: protocol.FileRef) -> FileAttribute:
    """The uploaded file a message attaches, checked: the sender's to attach, there, in limits."""
    own_folder = conn.subject_id if conn.role == "visitor" else None
    if not files.key_allowed(ref.key, conn.site_id, own_folder):
        raise Invalid("file is not one of this conversation's uploads")
    stored = blobs.head(ref.key)
    if stored is None:
        raise Invalid("the file was not uploaded (or the upload failed); attach it again")
    if stored.size > files.MAX_BYTES or stored.content_type not in files.CONTENT_TYPES:
        raise Invalid("the file is over the limits")
    return FileAttribute(key=ref.key, name=ref.name, size=stored.size, content_type=stored.content_type)
