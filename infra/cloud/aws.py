"""boto3 clients for one account and region (or a moto endpoint), and the stack's life cycle:
change sets, live stack events and the waits between them."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError, ProfileNotFound

Printer = Callable[[str], None]
_DONE = ("_COMPLETE", "_FAILED")
TEMPLATE_BODY_LIMIT = 51_200


class DeployError(RuntimeError):
    pass


@dataclass
class Aws:
    region: str
    endpoint_url: str | None = None
    poll_seconds: float = 3.0
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(service, region_name=self.region,
                                                  endpoint_url=self.endpoint_url)
        return self._clients[service]

    def account_id(self) -> str:
        try:
            return str(self.client("sts").get_caller_identity()["Account"])
        except (NoCredentialsError, PartialCredentialsError, ProfileNotFound, NoRegionError) as exc:
            raise DeployError("no AWS credentials: configure them (aws configure, AWS_PROFILE or "
                              "AWS_ACCESS_KEY_ID...), or use `python -m infra package OUTDIR`") from exc
        except ClientError as exc:
            raise DeployError(f"AWS refused the credentials: {exc}") from exc


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def stack(aws: Aws, name: str) -> dict[str, Any] | None:
    try:
        return aws.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def outputs(found: dict[str, Any] | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (found or {}).get("Outputs", [])}


def tags(found: dict[str, Any] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in (found or {}).get("Tags", [])}


@dataclass(frozen=True)
class Change:
    action: str        # Add, Modify, Remove
    logical_id: str
    resource_type: str
    replacement: str   # True, False, Conditional or "" (not a Modify)

    def __str__(self) -> str:
        note = " (replaced)" if self.replacement == "True" else ""
        return f"{self.action:<7} {self.resource_type:<40} {self.logical_id}{note}"


@dataclass(frozen=True)
class ChangeSet:
    stack_name: str
    name: str
    kind: str                  # CREATE or UPDATE
    changes: tuple[Change, ...]
    created: bool = True  # False: CloudFormation found nothing to change and kept no change set

    @property
    def empty(self) -> bool:
        return not self.changes


def create_change_set(aws: Aws, stack_name: str, template: dict[str, Any], parameters: dict[str, str],
                      stack_tags: dict[str, str], kind: str, template_url: Callable[[str], str]) -> ChangeSet:
    """Creates a change set (the plan of a dry run) and waits until CloudFormation has computed it."""
    cfn = aws.client("cloudformation")
    name = "parley-" + datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    try:
        cfn.create_change_set(ChangeSetName=name, ChangeSetType=kind,
                              **_stack_request(stack_name, template, parameters, stack_tags, template_url))
    except ClientError as exc:
        if "No updates are to be performed" in str(exc):
            return ChangeSet(stack_name, name, kind, (), created=False)
        raise
    while True:
        found = cfn.describe_change_set(StackName=stack_name, ChangeSetName=name)
        if found["Status"] in ("CREATE_COMPLETE", "FAILED"):
            break
        time.sleep(aws.poll_seconds)
    if found["Status"] == "FAILED":
        reason = found.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            cfn.delete_change_set(StackName=stack_name, ChangeSetName=name)
            return ChangeSet(stack_name, name, kind, (), created=False)
        raise DeployError(f"CloudFormation refused the change set: {reason}")
    changes = tuple(
        Change(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"],
               c["ResourceChange"]["ResourceType"], str(c["ResourceChange"].get("Replacement", "")))
        for c in found.get("Changes", []) if c.get("Type") == "Resource"
    )
    return ChangeSet(stack_name, name, kind, changes)


def discard(aws: Aws, change_set: ChangeSet) -> None:
    """Deletes an unexecuted change set (and the empty stack a CREATE change set made)."""
    if not change_set.created:
        return
    cfn = aws.client("cloudformation")
    cfn.delete_change_set(StackName=change_set.stack_name, ChangeSetName=change_set.name)
    if change_set.kind == "CREATE":
        cfn.delete_stack(StackName=change_set.stack_name)


def apply(aws: Aws, stack_name: str, template: dict[str, Any], parameters: dict[str, str],
          stack_tags: dict[str, str], create: bool, template_url: Callable[[str], str], say: Printer) -> bool:
    """Creates or updates the stack, printing its events; False when there was nothing to update."""
    cfn = aws.client("cloudformation")
    request = _stack_request(stack_name, template, parameters, stack_tags, template_url)
    if create:
        stack_id = cfn.create_stack(**request)["StackId"]
        follow(aws, stack_id, say, since=None)
        return True
    since = _last_event_id(aws, stack_name)
    try:
        cfn.update_stack(**request)
    except ClientError as exc:
        if "No updates are to be performed" in str(exc):
            return False
        raise
    follow(aws, stack_name, say, since)
    return True


def _stack_request(stack_name: str, template: dict[str, Any], parameters: dict[str, str],
                   stack_tags: dict[str, str], template_url: Callable[[str], str]) -> dict[str, Any]:
    """What create_stack, update_stack and create_change_set share; a template over
    CloudFormation's inline limit goes through S3 (``template_url`` uploads it)."""
    body = json.dumps(template, separators=(",", ":"))
    source = {"TemplateBody": body} if len(body) <= TEMPLATE_BODY_LIMIT else {"TemplateURL": template_url(body)}
    return {
        "StackName": stack_name, **source,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        "Capabilities": ["CAPABILITY_IAM"], "Tags": [{"Key": k, "Value": v} for k, v in stack_tags.items()],
    }


def delete(aws: Aws, stack_name: str, say: Printer) -> None:
    since = _last_event_id(aws, stack_name)
    found = stack(aws, stack_name)
    if found is None:
        raise DeployError(f"stack {stack_name} does not exist")
    stack_id = found["StackId"]  # events stay readable by id after deletion
    aws.client("cloudformation").delete_stack(StackName=stack_name)
    follow(aws, stack_id, say, since)


def _last_event_id(aws: Aws, stack_name: str) -> str | None:
    events = aws.client("cloudformation").describe_stack_events(StackName=stack_name)["StackEvents"]
    return events[0]["EventId"] if events else None


def follow(aws: Aws, stack_name: str, say: Printer, since: str | None) -> dict[str, Any]:
    """Prints the stack's events as they happen until it settles; fails on a failed operation."""
    cfn = aws.client("cloudformation")
    while True:
        events = cfn.describe_stack_events(StackName=stack_name)["StackEvents"]
        fresh = []
        for event in events:  # newest first
            if event["EventId"] == since:
                break
            fresh.append(event)
        for event in reversed(fresh):
            say(_event_line(event))
        since = events[0]["EventId"] if events else since
        found = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
        status = found["StackStatus"]
        if status.endswith(_DONE):
            break
        time.sleep(aws.poll_seconds)
    if "ROLLBACK" in status or status.endswith("_FAILED"):
        raise DeployError(f"stack {stack_name} ended in {status}; the events above say why")
    return found


def _event_line(event: dict[str, Any]) -> str:
    when = event["Timestamp"].strftime("%H:%M:%S") if hasattr(event["Timestamp"], "strftime") else ""
    reason = event.get("ResourceStatusReason") or ""
    line = f"  {when} {event['ResourceStatus']:<20} {event['ResourceType']:<36} {event['LogicalResourceId']}"
    return f"{line}  {reason}" if reason else line
