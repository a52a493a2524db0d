"""`python -m infra deploy`: the steps around the CloudFormation stack.

Package -> upload to the artifacts bucket -> token secret in SSM -> SES rule set (the active
one, or a new one made active) -> create or update the stack, printing its events -> site and
first operator -> summary. A dry run stops before changing anything and prints the plan.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.cloud import aws as cloud
from infra.cloud.aws import Aws, DeployError, Printer
from infra.cloud.build import Build, build
from infra.cloud.destroy import remove_failed_first
from infra.cloud.report import Summary
from infra.cloud.stage import CREATED_RULE_SET_TAG, Names, existing_tables
from infra.cloud.template import Options, build_template

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "infra" / "build"
_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[a-z0-9.-]{1,253}\.[a-z]{2,63}$")
_SITE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_FAILED_FIRST = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "REVIEW_IN_PROGRESS")


@dataclass(frozen=True)
class Deployment:
    options: Options
    operator_email: str | None = None
    operator_name: str = "Operator"
    site_id: str = "shop"
    site_name: str = "Our shop"
    shop_origins: tuple[str, ...] | None = None   # None: keep the site's origins
    reset_password: bool = False
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.operator_email is not None and not _EMAIL.match(self.operator_email.lower()):
            raise DeployError(f"--operator-email: {self.operator_email!r} is not an email address")
        if not _SITE_ID.match(self.site_id):
            raise DeployError("--site-id: letters, digits, '-' and '_' only (at most 64)")
        for origin in self.shop_origins or ():
            if not _ORIGIN.match(origin):
                raise DeployError(f"--shop-origin: {origin!r} must look like https://shop.example.com "
                                  "(scheme and host, no path)")


def deploy(request: Deployment, aws: Aws, say: Printer) -> Summary | None:
    """Deploys or updates the stage; returns None after a dry run (the plan is printed)."""
    options = request.options
    names = Names(aws.account_id(), options)
    existing = cloud.stack(aws, options.stack_name)
    failed_first = existing is not None and existing["StackStatus"] in _FAILED_FIRST
    first = existing is None or failed_first
    if existing is None:
        _refuse_leftover_data(aws, options)
    if first and not request.operator_email:
        raise DeployError("the first deploy needs --operator-email (the first operator's sign-in)")
    built, template = package(options, BUILD_DIR / options.stage, say)
    parameters, stack_tags = _stack_inputs(request, aws, names, existing, built, say)
    upload = lambda body: _upload_template(aws, names, body)  # noqa: E731
    if request.dry_run:
        _print_plan(aws, options, template, parameters, stack_tags, first, failed_first, upload, say)
        return None
    if failed_first:
        say(f"Removing {options.stack_name}, left by a failed first deploy")
        remove_failed_first(aws, names, options, say)
    say(f"{'Creating' if first else 'Updating'} stack {options.stack_name} ...")
    if not cloud.apply(aws, options.stack_name, template, parameters, stack_tags, first, upload, say):
        say("  the stack is up to date")
    summary = Summary(outputs=cloud.outputs(cloud.stack(aws, options.stack_name)),
                      package_bytes=built.zip_bytes, unpacked_bytes=built.unzipped_bytes())
    _bootstrap(request, aws, summary, say)
    return summary


def package(options: Options, outdir: Path, say: Printer) -> tuple[Build, dict[str, Any]]:
    """Writes ``deployment.zip`` and ``parley.template.json`` into ``outdir``; no AWS call."""
    say(f"Packaging Parley for stage {options.stage} in {options.region} ...")
    package = build(outdir, options.stage, options.region)
    template = build_template(package.sam, options)
    path = outdir / "parley.template.json"
    path.write_text(json.dumps(template, indent=2))
    say(f"  {package.zip_path}: {package.zip_bytes / 1e6:.2f} MB zipped, "
        f"{package.unzipped_bytes() / 1e6:.2f} MB unpacked")
    say(f"  {path}: {len(template['Resources'])} resources")
    return package, template


def _stack_inputs(request: Deployment, aws: Aws, names: Names, existing: dict[str, Any] | None,
                  package: Build, say: Printer) -> tuple[dict[str, str], dict[str, str]]:
    """The stack's parameters and tags; outside a dry run, uploads the package and makes the
    secret and the SES rule set when they do not exist yet."""
    options, change = request.options, not request.dry_run
    code_key = f"{options.stage}/deployment-{hashlib.sha256(package.zip_path.read_bytes()).hexdigest()[:16]}.zip"
    say(f"{'Uploading' if change else 'Would upload'} the package to s3://{names.artifacts_bucket}/{code_key}")
    if change:
        _ensure_artifacts_bucket(aws, names)
        aws.client("s3").upload_file(str(package.zip_path), names.artifacts_bucket, code_key)
    parameters = {"CodeBucket": names.artifacts_bucket, "CodeKey": code_key,
                  "ParleySecret": _token_secret(aws, names, say, create=change)}
    stack_tags = {"parley:stage": options.stage}
    previous = cloud.tags(existing).get(CREATED_RULE_SET_TAG)
    if previous:
        stack_tags[CREATED_RULE_SET_TAG] = previous
    if options.inbound_domain:
        rule_set, created = _receipt_rule_set(aws, names, say, create=change)
        parameters["ReceiptRuleSetName"] = rule_set
        if created:
            stack_tags[CREATED_RULE_SET_TAG] = rule_set
    return parameters, stack_tags


def _print_plan(aws: Aws, options: Options, template: dict[str, Any], parameters: dict[str, str],
                stack_tags: dict[str, str], first: bool, failed_first: bool,
                upload: Callable[[str], str], say: Printer) -> None:
    if failed_first:  # CloudFormation cannot plan against a stack that must go first
        say(f"Would remove {options.stack_name}, left by a failed first deploy, then create:")
        for logical_id, resource in template["Resources"].items():
            say(f"  Add     {resource['Type']:<40} {logical_id}")
    else:
        change_set = cloud.create_change_set(aws, options.stack_name, template, parameters, stack_tags,
                                             "CREATE" if first else "UPDATE", upload)
        say(f"Plan for stack {options.stack_name} ({change_set.kind.lower()}):")
        say("\n".join(f"  {change}" for change in change_set.changes) or "  no changes to the stack")
        cloud.discard(aws, change_set)
    say("Dry run: nothing was changed.")


def _refuse_leftover_data(aws: Aws, options: Options) -> None:
    """Tables kept by `destroy --keep-data` would collide with the new stack's tables."""
    leftover = existing_tables(aws, options)
    if leftover:
        raise DeployError(
            f"tables {', '.join(leftover)} remain from an earlier deploy (kept by destroy --keep-data). "
            f"Back them up and delete them (`python -m infra destroy --stage {options.stage}` deletes "
            "them) before deploying this stage again.")


def _ensure_artifacts_bucket(aws: Aws, names: Names) -> None:
    s3 = aws.client("s3")
    try:
        s3.head_bucket(Bucket=names.artifacts_bucket)
        return
    except ClientError as exc:
        if cloud.error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    location = ({} if aws.region == "us-east-1"
                else {"CreateBucketConfiguration": {"LocationConstraint": aws.region}})
    s3.create_bucket(Bucket=names.artifacts_bucket, **location)
    s3.put_public_access_block(Bucket=names.artifacts_bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True,
        "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def _upload_template(aws: Aws, names: Names, body: str) -> str:
    key = f"templates/parley-{hashlib.sha256(body.encode()).hexdigest()[:16]}.json"
    aws.client("s3").put_object(Bucket=names.artifacts_bucket, Key=key, Body=body.encode())
    return f"https://{names.artifacts_bucket}.s3.{aws.region}.amazonaws.com/{key}"


def _token_secret(aws: Aws, names: Names, say: Printer, create: bool) -> str:
    """The secret that signs tokens: made once per stage, kept as an SSM SecureString."""
    ssm = aws.client("ssm")
    try:
        value = ssm.get_parameter(Name=names.secret_parameter, WithDecryption=True)["Parameter"]["Value"]
        say(f"Token secret: kept ({names.secret_parameter} in SSM)")
        return str(value)
    except ClientError as exc:
        if cloud.error_code(exc) != "ParameterNotFound":
            raise
    value = secrets.token_urlsafe(48)
    if create:
        ssm.put_parameter(Name=names.secret_parameter, Value=value, Type="SecureString",
                          Description="Parley: signs visitor and operator tokens")
    say(f"Token secret: {'created' if create else 'would be created'} ({names.secret_parameter} in SSM)")
    return value


def _receipt_rule_set(aws: Aws, names: Names, say: Printer, create: bool) -> tuple[str, bool]:
    """The account's active rule set; only if there is none, Parley's own, made active.
    The stack adds one rule for the inbound domain and touches no other rule."""
    ses = aws.client("ses")
    active = ses.describe_active_receipt_rule_set().get("Metadata", {}).get("Name")
    if active:
        say(f"SES: adding Parley's rule to the active receipt rule set {active!r}")
        return active, active == names.rule_set
    if create:
        existing = {s["Name"] for s in ses.list_receipt_rule_sets().get("RuleSets", [])}
        if names.rule_set not in existing:
            ses.create_receipt_rule_set(RuleSetName=names.rule_set)
        ses.set_active_receipt_rule_set(RuleSetName=names.rule_set)
    say(f"SES: no active receipt rule set; {'created and activated' if create else 'would create and activate'} "
        f"{names.rule_set!r}")
    return names.rule_set, True


def _bootstrap(request: Deployment, aws: Aws, summary: Summary, say: Printer) -> None:
    options = request.options
    password = secrets.token_urlsafe(12)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PARLEY_")}
    env.update({"PARLEY_STAGE": options.stage, "PARLEY_TABLE_PREFIX": options.table_prefix,
                "AWS_REGION": options.region, "AWS_DEFAULT_REGION": options.region,
                "PYTHONPATH": str(ROOT)})
    if aws.endpoint_url:
        env["PARLEY_AWS_ENDPOINT"] = aws.endpoint_url
    payload = {
        "site_id": request.site_id, "site_name": request.site_name,
        "origins": list(request.shop_origins) if request.shop_origins is not None else None,
        "email": request.operator_email, "name": request.operator_name,
        "password": password, "reset": request.reset_password,
    }
    result = subprocess.run([sys.executable, "-m", "infra.cloud.bootstrap"], input=json.dumps(payload),
                            env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise DeployError(f"creating the site and first operator failed:\n{result.stderr[-2000:]}")
    answer = json.loads(result.stdout)
    summary.origins = answer["origins"]
    summary.operator = answer["operator"]
    summary.password = password if summary.operator in ("created", "reset") else None
    say(f"Site {request.site_id!r}: ready; first operator: {summary.operator}")


