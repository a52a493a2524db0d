"""The local moto server refuses browser uploads (S3 presigned POSTs) that break their policy,
as AWS S3 does: a larger file is refused by S3 itself, not by Parley's code."""
from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.local.moto_server import MotoServer

BUCKET = "parley-attachments"
LIMIT = 2_097_152
ORIGIN = "https://shop.example"
PNG = b"\x89PNG\r\n\x1a\n--not-a-boundary\r\n" + os.urandom(64)


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    moto = MotoServer()
    moto.start()
    try:
        yield moto
    finally:
        moto.stop()


def s3(server: MotoServer, signature_version: str | None = None, secret: str = "testing") -> Any:
    config = Config(signature_version=signature_version, s3={"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", config=config,
                        aws_access_key_id="testing", aws_secret_access_key=secret)


@pytest.fixture(scope="module")
def client(server: MotoServer) -> Any:
    client = s3(server)
    client.create_bucket(Bucket=BUCKET)
    return client


def presign(client: Any, key: str, expires: int = 600) -> dict[str, Any]:
    """An upload as Parley grants one: this key, this Content-Type, at most 2 MiB, 10 minutes."""
    return client.generate_presigned_post(
        BUCKET, key, Fields={"Content-Type": "image/png"},
        Conditions=[["content-length-range", 1, LIMIT], ["eq", "$Content-Type", "image/png"]],
        ExpiresIn=expires)


def post(url: str, fields: dict[str, str], data: bytes, origin: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """A browser's form upload: the fields, then the file last, as S3 requires."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
                 f'Content-Type: image/png\r\n\r\n'.encode() + data + f"\r\n--{boundary}--\r\n".encode())
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if origin:
        headers["Origin"] = origin
    request = urllib.request.Request(url, data=b"".join(parts), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def stored(client: Any, key: str) -> bytes | None:
    try:
        return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchKey"
        return None


def refusal(body: bytes) -> tuple[str, str]:
    text = body.decode()
    code = text.split("<Code>")[1].split("</Code>")[0]
    message = text.split("<Message>")[1].split("</Message>")[0]
    return code, message


def key() -> str:
    return f"uploads/{uuid.uuid4().hex}.png"


@pytest.mark.parametrize("signature_version", [None, "s3v4"])  # boto3's default here is SigV2
def test_a_file_within_the_limit_is_stored(server: MotoServer, client: Any, signature_version: str | None) -> None:
    name = key()
    upload = presign(s3(server, signature_version), name)
    status, _, _ = post(upload["url"], upload["fields"], PNG)
    assert status == 204
    assert stored(client, name) == PNG
    assert client.head_object(Bucket=BUCKET, Key=name)["ContentType"] == "image/png"


def test_a_file_of_exactly_the_limit_is_stored(client: Any) -> None:
    name = key()
    upload = presign(client, name)
    assert post(upload["url"], upload["fields"], b"x" * LIMIT)[0] == 204
    assert len(stored(client, name) or b"") == LIMIT


@pytest.mark.parametrize("signature_version", [None, "s3v4"])
def test_a_larger_file_is_refused_by_s3(server: MotoServer, client: Any, signature_version: str | None) -> None:
    name = key()
    upload = presign(s3(server, signature_version), name)
    status, headers, body = post(upload["url"], upload["fields"], b"x" * (LIMIT + 1))
    assert status == 400
    assert headers["Content-Type"] == "application/xml"
    assert refusal(body) == ("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
    assert stored(client, name) is None


def test_an_empty_file_is_refused(client: Any) -> None:
    name = key()
    upload = presign(client, name)
    status, _, body = post(upload["url"], upload["fields"], b"")
    assert (status, refusal(body)[0]) == (400, "EntityTooSmall")
    assert stored(client, name) is None


def test_a_wrong_content_type_is_refused(client: Any) -> None:
    name = key()
    upload = presign(client, name)
    status, _, body = post(upload["url"], {**upload["fields"], "Content-Type": "text/html"}, PNG)
    assert status == 403
    code, message = refusal(body)
    assert code == "AccessDenied"
    assert message.startswith("Invalid according to Policy: Policy Condition failed:")
    assert "$Content-Type" in message
    assert stored(client, name) is None


def test_another_key_is_refused(client: Any) -> None:
    granted, other = key(), key()
    upload = presign(client, granted)
    status, _, body = post(upload["url"], {**upload["fields"], "key": other}, PNG)
    assert (status, refusal(body)[0]) == (403, "AccessDenied")
    assert stored(client, other) is None and stored(client, granted) is None


def test_a_field_no_condition_covers_is_refused_unless_ignored(client: Any) -> None:
    name = key()
    upload = presign(client, name)
    status, _, body = post(upload["url"], {**upload["fields"], "acl": "public-read"}, PNG)
    assert status == 403
    assert refusal(body) == ("AccessDenied", "Invalid according to Policy: Extra input fields: acl")
    assert stored(client, name) is None
    assert post(upload["url"], {**upload["fields"], "x-ignore-note": "hi"}, PNG)[0] == 204


def tamper(policy: str) -> str:
    document = json.loads(base64.b64decode(policy))
    document["conditions"][0] = ["content-length-range", 1, 100 * LIMIT]
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize("signature_version", [None, "s3v4"])
def test_a_tampered_policy_is_refused(server: MotoServer, client: Any, signature_version: str | None) -> None:
    name = key()
    upload = presign(s3(server, signature_version), name)
    fields = {**upload["fields"], "policy": tamper(upload["fields"]["policy"])}
    status, _, body = post(upload["url"], fields, b"x" * (LIMIT + 1))
    assert (status, refusal(body)[0]) == (403, "SignatureDoesNotMatch")
    assert stored(client, name) is None


def test_a_policy_signed_with_another_secret_is_refused(server: MotoServer, client: Any) -> None:
    name = key()
    upload = presign(s3(server, "s3v4", secret="not-the-local-secret"), name)
    status, _, body = post(upload["url"], upload["fields"], PNG)
    assert (status, refusal(body)[0]) == (403, "SignatureDoesNotMatch")
    assert stored(client, name) is None


def test_an_expired_policy_is_refused(client: Any) -> None:
    name = key()
    upload = presign(client, name, expires=-60)  # correctly signed, expired a minute ago
    status, _, body = post(upload["url"], upload["fields"], PNG)
    assert status == 403
    assert refusal(body) == ("AccessDenied", "Invalid according to Policy: Policy expired.")
    assert stored(client, name) is None


def test_browsers_can_read_both_answers(client: Any) -> None:
    upload = presign(client, key())
    ok = post(upload["url"], upload["fields"], PNG, origin=ORIGIN)
    refused = post(upload["url"], upload["fields"], b"x" * (LIMIT + 1), origin=ORIGIN)
    assert ok[0] == 204 and refused[0] == 400
    for _, headers, _ in (ok, refused):
        assert headers.get("Access-Control-Allow-Origin") in (ORIGIN, "*")


def test_a_post_without_a_policy_is_left_to_moto(client: Any) -> None:
    name = key()
    status, _, _ = post(f"{client.meta.endpoint_url}/{BUCKET}", {"key": name}, PNG)
    assert status == 204
    assert stored(client, name) == PNG
