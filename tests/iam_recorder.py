"""Records the AWS calls Parley's Lambda code makes while tests run, as IAM (action, resource)
pairs, so a test can hold them against the deploy template's policy.

A call counts when Parley's own code (``app.py`` or ``chalicelib/``, admin tools excepted) is
on the stack: what tests or the harness call directly is not the Lambda's doing.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from infra.local.metrics import observe_api_calls

ROOT = Path(__file__).resolve().parent.parent
_LAMBDA_CODE = (str(ROOT / "chalicelib") + "/", str(ROOT / "app.py"))
_NOT_LAMBDA = (str(ROOT / "chalicelib" / "admin.py"),)
_CONNECTION_METHODS = {"PostToConnection": "POST", "GetConnection": "GET", "DeleteConnection": "DELETE"}
_S3_ACTIONS = {"HeadObject": "GetObject"}  # API operations whose IAM action has another name
ACCOUNT, REGION = "123456789012", "us-east-1"


@dataclass(frozen=True)
class Call:
    action: str    # e.g. "dynamodb:Query"
    resource: str  # an ARN in ACCOUNT and REGION


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: set[Call] = set()

    def add(self, calls: list[Call]) -> None:
        with self._lock:
            self.calls.update(calls)

    def snapshot(self) -> set[Call]:
        with self._lock:
            return set(self.calls)


RECORDER = Recorder()


def install(recorder: Recorder = RECORDER) -> None:
    """Records, from now on, the calls that Lambda code makes through any client (boto3's, PynamoDB's)."""
    def record(client: Any, operation: str, params: Any) -> None:
        if _called_by_lambda_code():
            recorder.add(to_iam(client.meta.service_model.service_name, operation, params,
                                client.meta.endpoint_url))

    observe_api_calls("iam-recorder", record)
    _record_presigning(recorder)


def _record_presigning(recorder: Recorder) -> None:
    """Presigned URLs never reach the API, but S3 checks the signer's permissions when the
    browser uses them: a presigned POST needs s3:PutObject, a presigned GET the operation's
    action. botocore looks these functions up when it builds an S3 client class."""
    from botocore import signers

    post, url = signers.generate_presigned_post, signers.generate_presigned_url

    def presigned_post(self: Any, Bucket: str, Key: str, *args: Any, **kwargs: Any) -> Any:
        if _called_by_lambda_code(depth=2):
            recorder.add([Call("s3:PutObject", f"arn:aws:s3:::{Bucket}/{Key}")])
        return post(self, Bucket, Key, *args, **kwargs)

    def presigned_url(self: Any, ClientMethod: str, Params: Any = None, *args: Any, **kwargs: Any) -> Any:
        if _called_by_lambda_code(depth=2):
            operation = self._PY_TO_OP_NAME[ClientMethod]
            recorder.add(to_iam(self.meta.service_model.service_name, operation, Params or {}, ""))
        return url(self, ClientMethod, Params, *args, **kwargs)

    signers.generate_presigned_post, signers.generate_presigned_url = presigned_post, presigned_url


def _called_by_lambda_code(depth: int = 3) -> bool:
    frame = sys._getframe(depth)
    found = False
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith(_NOT_LAMBDA):
            return False
        found = found or filename.startswith(_LAMBDA_CODE)
        frame = frame.f_back
    return found


def to_iam(service: str, operation: str, params: dict[str, Any], endpoint_url: str) -> list[Call]:
    """The IAM action and resource(s) one API call needs."""
    if service == "dynamodb":
        return _dynamodb(operation, params)
    if service == "s3":
        bucket, key = params.get("Bucket", ""), params.get("Key")
        resource = f"arn:aws:s3:::{bucket}" + (f"/{key}" if key is not None else "")
        return [Call(f"s3:{_S3_ACTIONS.get(operation, operation)}", resource)]
    if service == "apigatewaymanagementapi":
        stage = urlparse(endpoint_url).path.strip("/")
        method = _CONNECTION_METHODS[operation]
        return [Call("execute-api:ManageConnections",
                     f"arn:aws:execute-api:{REGION}:{ACCOUNT}:WEBSOCKET_API/{stage}/{method}"
                     f"/@connections/{params['ConnectionId']}")]
    if service == "sesv2" and operation == "SendEmail":  # SESv2 sends are the ses:SendEmail action
        domain = params.get("FromEmailAddress", "").rsplit("@", 1)[-1].rstrip(">")
        return [Call("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}")]
    return [Call(f"{service}:{operation}", "*")]


def _table_arn(table: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _dynamodb(operation: str, params: dict[str, Any]) -> list[Call]:
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Call(f"dynamodb:{operation}", _table_arn(t)) for t in params["RequestItems"]]
    if operation in ("TransactWriteItems", "TransactGetItems"):
        calls = []
        for item in params["TransactItems"]:
            (kind, body), = item.items()
            action = {"Get": "GetItem", "Put": "PutItem", "Update": "UpdateItem",
                      "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}[kind]
            calls.append(Call(f"dynamodb:{action}", _table_arn(body["TableName"])))
        return calls
    return [Call(f"dynamodb:{operation}", _table_arn(params["TableName"], params.get("IndexName")))]
