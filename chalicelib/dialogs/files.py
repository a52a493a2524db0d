"""Chat files: what may be uploaded, where it lives, how a message shows it. Pure: no I/O."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote

from chalicelib.shared.errors import Invalid, TooLarge

MAX_BYTES = 2 * 1024 * 1024
MAX_NAME_CHARS = 200
UPLOAD_EXPIRES_S = 600
DOWNLOAD_EXPIRES_S = 3600
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
CONTENT_TYPES = IMAGE_TYPES | frozenset({
    "application/pdf", "text/plain", "text/csv", "application/zip", "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})
_KEY = re.compile(r"^files/[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}/[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class Upload:
    name: str
    size: int
    content_type: str


def clean_name(value: object) -> str:
    """A file name as people see it: no path, no control characters, at most 200 characters."""
    if not isinstance(value, str):
        raise Invalid("name must be a string")
    name = value.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    if not name:
        raise Invalid("the file needs a name")
    if len(name) > MAX_NAME_CHARS:
        raise Invalid(f"the file name is over {MAX_NAME_CHARS} characters")
    return name


def check_upload(name: object, size: object, content_type: object) -> Upload:
    """An upload request within the limits, or a ParleyError saying which one it breaks."""
    clean = clean_name(name)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise Invalid("size must be a positive number of bytes")
    if size > MAX_BYTES:
        raise TooLarge(f"{clean} is larger than 2 MB")
    if not isinstance(content_type, str) or content_type.lower() not in CONTENT_TYPES:
        raise Invalid(f"{clean}: this type of file cannot be sent")
    return Upload(clean, size, content_type.lower())


def key_for(site_id: str, visitor_id: str, file_id: str) -> str:
    """Files live with the visitor they were exchanged with: a visitor may attach only its own."""
    return f"files/{site_id}/{visitor_id}/{file_id}"


def key_allowed(key: object, site_id: str, visitor_id: str | None) -> bool:
    """A visitor may attach files under its own folder; an operator any of its site's."""
    if not isinstance(key, str) or not _KEY.match(key):
        return False
    _, key_site, key_visitor, _ = key.split("/")
    return key_site == site_id and (visitor_id is None or key_visitor == visitor_id)


def is_image(content_type: str) -> bool:
    return content_type in IMAGE_TYPES


def disposition(name: str, content_type: str) -> str:
    """Images open inline (thumbnails); everything else downloads under its own name."""
    kind = "inline" if is_image(content_type) else "attachment"
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
