"""S3 POST policies, enforced in front of moto's server the way AWS S3 enforces them.

moto stores whatever a browser POSTs to a bucket; AWS checks the form against its signed
policy first (size, key, Content-Type, expiry). :class:`S3PostPolicy` is a WSGI middleware
that does those checks for multipart POSTs to a bucket that carry a ``policy`` field, answers
refusals with S3's error XML, and hands everything else (and every accepted upload, body
intact) to the wrapped app.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from moto.s3.responses import S3Response
from moto.s3.utils import bucket_name_from_url
from moto.settings import DISABLE_GLOBAL_CORS
from werkzeug.formparser import parse_form_data
from werkzeug.wrappers import Request
from werkzeug.wsgi import get_input_stream

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

SIGV4 = "AWS4-HMAC-SHA256"
V4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
V2_FIELDS = ("awsaccesskeyid", "signature")
STATUS = {400: "400 Bad Request", 403: "403 Forbidden"}


class Refused(Exception):
    """An upload S3 would refuse: HTTP status, S3 error code, message, extra XML elements."""

    def __init__(self, status: int, code: str, message: str, **extra: object) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def denied(message: str) -> Refused:
    return Refused(403, "AccessDenied", f"Invalid according to Policy: {message}")


def local_secret() -> str:
    return os.environ.get("PARLEY_LOCAL_S3_SECRET") or os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing"


class S3PostPolicy:
    """WSGI middleware: refuse browser POST uploads that break their policy, as S3 does."""

    def __init__(self, app: WSGIApp, secret: str | None = None) -> None:
        self.app = app
        self.secret = secret or local_secret()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        bucket = target_bucket(environ)
        if bucket is not None:
            fields, size = read_form(environ)
            if "policy" in fields:
                try:
                    check_upload(fields, size, bucket, self.secret, datetime.now(UTC))
                except Refused as refusal:
                    return error_response(refusal, environ, start_response)
        return self.app(environ, start_response)


# -- which requests ----------------------------------------------------------------------------

def target_bucket(environ: Environ) -> str | None:
    """The bucket a multipart POST is addressed to (path or virtual-host style), else None."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    if not environ.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data"):
        return None
    request = Request(environ, populate_request=False, shallow=True)  # headers only, body unread
    path = request.path
    if S3Response.subdomain_based_buckets(request):
        return bucket_name_from_url(request.url) if path in ("", "/") else None
    name = path.strip("/")
    if not name or "/" in name or path.startswith("/moto-api"):
        return None
    return name


def read_form(environ: Environ) -> tuple[dict[str, str], int | None]:
    """The form's fields (names lower-cased, first value) and the ``file`` part's size.

    The body is buffered and put back, so the wrapped app reads it as if untouched."""
    body = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    copy = {**environ, "wsgi.input": io.BytesIO(body)}
    _, form, files = parse_form_data(copy)
    fields = {name.lower(): value for name, value in form.items()}
    uploads = {name.lower(): upload for name, upload in files.items()}
    if "file" in uploads:
        return fields, uploads["file"].stream.seek(0, io.SEEK_END)
    if "file" in fields:
        return fields, len(fields["file"].encode())
    return fields, None


# -- the checks --------------------------------------------------------------------------------

def check_upload(fields: dict[str, str], size: int | None, bucket: str, secret: str, now: datetime) -> None:
    covered = {"file", "policy", "bucket", *check_signature(fields, secret)}
    if size is None:
        raise Refused(400, "InvalidArgument", "POST requires exactly one file upload per request.")
    policy = decode_policy(fields["policy"])
    check_expiration(policy, now)
    for condition in policy["conditions"]:
        covered.update(check_condition(condition, fields, size, bucket))
    extra = sorted(name for name in fields if name not in covered and not name.startswith("x-ignore-"))
    if extra:
        raise denied(f"Extra input fields: {', '.join(extra)}")


def require(fields: dict[str, str], names: tuple[str, ...]) -> None:
    for name in names:
        if name not in fields:
            raise Refused(400, "InvalidArgument", f"Bucket POST must contain a field named '{name}'.  "
                          "If it is specified, please check the order of the fields.")


def check_signature(fields: dict[str, str], secret: str) -> tuple[str, ...]:
    """Raise unless the policy is signed with ``secret``; return the signature's own fields.

    SigV4 (``x-amz-*`` fields), or SigV2 (``AWSAccessKeyId``, ``signature``), which S3 still
    takes in us-east-1 and which boto3's ``generate_presigned_post`` makes unless the client
    is configured with ``signature_version="s3v4"``."""
    if "x-amz-algorithm" in fields or "x-amz-signature" in fields:
        require(fields, V4_FIELDS)
        expected, given = sigv4(fields, secret), fields["x-amz-signature"]
        exempt: tuple[str, ...] = ("x-amz-signature",)
    else:
        require(fields, V2_FIELDS)
        expected, given = sigv2(fields["policy"], secret), fields["signature"]
        exempt = V2_FIELDS
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Refused(403, "SignatureDoesNotMatch", "The request signature we calculated does not match "
                      "the signature you provided. Check your key and signing method.")
    return exempt


def sigv2(policy: str, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), policy.encode(), hashlib.sha1).digest()).decode()


def sigv4(fields: dict[str, str], secret: str) -> str:
    scope = fields["x-amz-credential"].split("/")[1:]  # date, region, service, "aws4_request"
    if fields["x-amz-algorithm"] != SIGV4 or len(scope) != 4 or scope[3] != "aws4_request":
        raise Refused(400, "InvalidArgument", "Error parsing the X-Amz-Credential parameter")
    return hmac.new(signing_key(secret, scope), fields["policy"].encode(), hashlib.sha256).hexdigest()


def signing_key(secret: str, scope: list[str]) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in scope:
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def decode_policy(encoded: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if not isinstance(policy, dict) or not isinstance(policy.get("conditions"), list):
        raise Refused(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.")
    return policy


def check_expiration(policy: dict[str, Any], now: datetime) -> None:
    try:
        expires = datetime.fromisoformat(str(policy["expiration"]))
    except (KeyError, ValueError):
        raise Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.") from None
    if (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
        raise denied("Policy expired.")


def check_condition(condition: Any, fields: dict[str, str], size: int, bucket: str) -> list[str]:
    """Raise unless the form meets ``condition``; return the field names it covers."""
    if isinstance(condition, dict):
        return [check_match("eq", f"${name}", value, fields, bucket) for name, value in condition.items()]
    if isinstance(condition, list) and len(condition) == 3:
        operator = str(condition[0]).lower()
        if operator == "content-length-range" and all(isinstance(n, int) for n in condition[1:]):
            check_size(size, condition[1], condition[2])
            return []
        if operator in ("eq", "starts-with") and str(condition[1]).startswith("$"):
            return [check_match(operator, str(condition[1]), condition[2], fields, bucket)]
    raise Refused(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {json.dumps(condition)}")


def check_match(operator: str, ref: str, expected: Any, fields: dict[str, str], bucket: str) -> str:
    name = ref[1:].lower()
    actual = bucket if name == "bucket" else fields.get(name, "")
    if operator == "eq":
        ok = actual == str(expected)
    else:  # a Content-Type may list several types; each must match
        values = actual.split(",") if name == "content-type" else [actual]
        ok = all(value.strip().startswith(str(expected)) for value in values)
    if not ok:
        raise denied(f"Policy Condition failed: {json.dumps([operator, ref, expected])}")
    return name


def check_size(size: int, least: int, most: int) -> None:
    if size > most:
        raise Refused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                      ProposedSize=size, MaxSizeAllowed=most)
    if size < least:
        raise Refused(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                      ProposedSize=size, MinSizeAllowed=least)


# -- the answer --------------------------------------------------------------------------------

def error_response(refusal: Refused, environ: Environ, start_response: StartResponse) -> list[bytes]:
    extra = "".join(f"<{tag}>{escape(str(value))}</{tag}>" for tag, value in refusal.extra.items())
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{refusal.code}</Code><Message>{escape(refusal.message)}</Message>{extra}</Error>").encode()
    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
    origin = environ.get("HTTP_ORIGIN")
    if origin and not DISABLE_GLOBAL_CORS:  # what moto's flask_cors adds, so a browser can read the refusal
        headers += [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
    start_response(STATUS[refusal.status], headers)
    return [body]
