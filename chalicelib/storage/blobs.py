"""The data bucket: chat files (presigned uploads and downloads, a HeadObject when a message
attaches one) and inbound mail (the raw MIME SES stored; its attachments become chat files).

Browsers upload and download straight from S3; Parley only signs (no network call) and, when a
file is attached to a message, checks it with a HeadObject.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.shared.config import settings

_lock = threading.Lock()
_client: Any = None


def _s3() -> Any:
    global _client
    with _lock:
        if _client is None:
            # A regional endpoint: a presigned POST to the global one is redirected for a
            # bucket outside us-east-1, and browsers do not follow that redirect.
            endpoint = settings.aws_endpoint or f"https://s3.{settings.region}.amazonaws.com"
            style = "path" if settings.aws_endpoint else "virtual"
            _client = boto3.client("s3", region_name=settings.region, endpoint_url=endpoint,
                                   config=Config(signature_version="s3v4", s3={"addressing_style": style}))
        return _client


@dataclass(frozen=True)
class StoredFile:
    size: int
    content_type: str


def presigned_post(key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
    """URL and form fields for one upload; S3 enforces the key, type and size range."""
    return _s3().generate_presigned_post(
        Bucket=settings.data_bucket, Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_s,
    )


def presigned_get(key: str, content_type: str, disposition: str, expires_s: int) -> str:
    return _s3().generate_presigned_url("get_object", Params={
        "Bucket": settings.data_bucket, "Key": key,
        "ResponseContentType": content_type, "ResponseContentDisposition": disposition,
    }, ExpiresIn=expires_s)


def head(key: str) -> StoredFile | None:
    """HeadObject data-bucket/key: its size and type, or None when it is not there."""
    try:
        found = _s3().head_object(Bucket=settings.data_bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return StoredFile(int(found["ContentLength"]), str(found.get("ContentType", "")))


def read(key: str, max_bytes: int) -> bytes | None:
    """GetObject data-bucket/key (raw inbound mail), at most `max_bytes`; None when missing."""
    try:
        found = _s3().get_object(Bucket=settings.data_bucket, Key=key, Range=f"bytes=0-{max_bytes - 1}")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return bytes(found["Body"].read())


def put(key: str, data: bytes, content_type: str) -> None:
    """PutObject data-bucket/key: a file that arrived by email becomes a chat file."""
    _s3().put_object(Bucket=settings.data_bucket, Key=key, Body=data, ContentType=content_type)
