"""`python -m infra deploy` and `destroy`: the steps around the CloudFormation stack.

Deploy: package -> artifacts bucket and upload -> token secret in SSM -> SES rule set (the
active one, or a new one made active) -> change set (printed: the plan) -> execute, printing
stack events -> site and first operator -> summary. Destroy undoes each step.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from infra.cloud import aws as cloud
from infra.cloud.aws import Aws, DeployError, Printer
from infra.cloud.build import Build, build
from infra.cloud.template import Options, build_template, table_names

ROOT = Path(__file__).resolve().parents[2]
BUILD_DIR = ROOT / "infra" / "build"
CREATED_RULE_SET_TAG = "parley:created-rule-set"
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


@dataclass
class Names:
    account: str
    options: Options

    @property
    def artifacts_bucket(self) -> str:
        return f"parley-artifacts-{self.account}-{self.options.region}"

    @property
    def data_bucket(self) -> str:
        return f"{self.options.table_prefix}-data-{self.account}-{self.options.region}"

    @property
    def secret_parameter(self) -> str:
        return f"/parley/{self.options.stage}/token-secret"

    @property
    def rule_set(self) -> str:
        return f"parley-{self.options.stage}"


@dataclass
class Summary:
    outputs: dict[str, str] = field(default_factory=dict)
    operator: str = "kept"
    password: str | None = None
    origins: list[str] = field(default_factory=list)
    package_bytes: int = 0
    unpacked_bytes: int = 0


def deploy(request: Deployment, aws: Aws, say: Printer) -> Summary | None:
    """Deploys or updates the stage; returns None after a dry run (the plan is printed)."""
    options, plan = request.options, request.dry_run
    names = Names(aws.account_id(), options)
    existing = cloud.stack(aws, options.stack_name)
    failed_first = existing is not None and existing["StackStatus"] in _FAILED_FIRST
    first = existing is None or failed_first
    if existing is None:
        _refuse_leftover_data(aws, options)
    if first and not request.operator_email:
        raise DeployError("the first deploy needs --operator-email (the first operator's sign-in)")
    package, template = _package(options, say)
    code_key = f"{options.stage}/deployment-{_sha256(package.zip_path)[:16]}.zip"
    say(f"{'Would upload' if plan else 'Uploading'} the package to s3://{names.artifacts_bucket}/{code_key}")
    if not plan:
        _ensure_artifacts_bucket(aws, names)
        aws.client("s3").upload_file(str(package.zip_path), names.artifacts_bucket, code_key)
    parameters = {"CodeBucket": names.artifacts_bucket, "CodeKey": code_key,
                  "ParleySecret": _token_secret(aws, names, say, create=not plan)}
    stack_tags = {"parley:stage": options.stage}
    if CREATED_RULE_SET_TAG in cloud.tags(existing):
        stack_tags[CREATED_RULE_SET_TAG] = cloud.tags(existing)[CREATED_RULE_SET_TAG]
    if options.inbound_domain:
        rule_set, created = _receipt_rule_set(aws, names, say, create=not plan)
        parameters["ReceiptRuleSetName"] = rule_set
        if created:
            stack_tags[CREATED_RULE_SET_TAG] = rule_set
    if failed_first:
        say(f"{'Would remove' if plan else 'Removing'} {options.stack_name}, left by a failed first deploy")
        if plan:
            return _plan_only(say, template)
        cloud.delete(aws, options.stack_name, say)
        _delete_data(aws, names, options, say, keep_secret=True)
    upload = lambda body: _upload_template(aws, names, body)  # noqa: E731
    if plan:
        change_set = cloud.create_change_set(aws, options.stack_name, template, parameters, stack_tags,
                                             "CREATE" if first else "UPDATE", upload)
        say(f"Plan for stack {options.stack_name} ({change_set.kind.lower()}):")
        say("\n".join(f"  {change}" for change in change_set.changes) or "  no changes to the stack")
        cloud.discard(aws, change_set)
        say("Dry run: nothing was changed.")
        return None
    say(f"{'Creating' if first else 'Updating'} stack {options.stack_name} ...")
    if not cloud.apply(aws, options.stack_name, template, parameters, stack_tags, first, upload, say):
        say("  the stack is up to date")
    summary = Summary(outputs=cloud.outputs(cloud.stack(aws, options.stack_name)),
                      package_bytes=package.zip_bytes, unpacked_bytes=package.unzipped_bytes())
    _bootstrap(request, aws, summary, say)
    return summary


def _package(options: Options, say: Printer) -> tuple[Build, dict[str, Any]]:
    say(f"Packaging Parley for stage {options.stage} in {options.region} ...")
    outdir = BUILD_DIR / options.stage
    package = build(outdir, options.stage, options.region)
    template = build_template(package.sam, options)
    (outdir / "parley.template.json").write_text(json.dumps(template, indent=2))
    say(f"  deployment.zip: {package.zip_bytes / 1e6:.2f} MB zipped, "
        f"{package.unzipped_bytes() / 1e6:.2f} MB unpacked; template: {outdir / 'parley.template.json'}")
    return package, template


def _plan_only(say: Printer, template: dict[str, Any]) -> None:
    say("Plan: create every resource of the template anew:")
    for logical_id, resource in template["Resources"].items():
        say(f"  Add     {resource['Type']:<40} {logical_id}")
    say("Dry run: nothing was changed.")
    return None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _existing_tables(aws: Aws, options: Options) -> list[str]:
    ddb, found = aws.client("dynamodb"), []
    for name in table_names(options):
        try:
            ddb.describe_table(TableName=name)
            found.append(name)
        except ClientError as exc:
            if cloud.error_code(exc) != "ResourceNotFoundException":
                raise
    return found


def _refuse_leftover_data(aws: Aws, options: Options) -> None:
    """Tables kept by `destroy --keep-data` would collide with the new stack's tables."""
    leftover = _existing_tables(aws, options)
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


def destroy(options: Options, aws: Aws, keep_data: bool, say: Printer) -> None:
    names = Names(aws.account_id(), options)
    existing = cloud.stack(aws, options.stack_name)
    stack_tags = cloud.tags(existing)
    if existing is None:
        say(f"No stack {options.stack_name} in {options.region}.")
    else:
        say(f"Deleting stack {options.stack_name} ...")
        cloud.delete(aws, options.stack_name, say)
    if keep_data:
        say(f"Kept: tables {options.table_prefix}-*, bucket {names.data_bucket}, "
            f"token secret {names.secret_parameter}.")
    else:
        _delete_data(aws, names, options, say)
    created_rule_set = stack_tags.get(CREATED_RULE_SET_TAG)
    if created_rule_set:
        _delete_rule_set_if_empty(aws, created_rule_set, say)
    _delete_artifacts(aws, names, options, say)
    say("Done.")


def _delete_data(aws: Aws, names: Names, options: Options, say: Printer, keep_secret: bool = False) -> None:
    ddb = aws.client("dynamodb")
    for table in _existing_tables(aws, options):
        ddb.delete_table(TableName=table)
        say(f"  deleted table {table}")
    _delete_bucket(aws, names.data_bucket, prefix="", say=say, remove_bucket=True)
    if keep_secret:
        return
    try:
        aws.client("ssm").delete_parameter(Name=names.secret_parameter)
        say(f"  deleted {names.secret_parameter}")
    except ClientError as exc:
        if cloud.error_code(exc) != "ParameterNotFound":
            raise


def _delete_bucket(aws: Aws, bucket: str, prefix: str, say: Printer, remove_bucket: bool) -> None:
    s3 = aws.client("s3")
    try:
        pages = s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            objects = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                       for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objects:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        if remove_bucket:
            s3.delete_bucket(Bucket=bucket)
            say(f"  deleted bucket {bucket}")
    except ClientError as exc:
        if cloud.error_code(exc) != "NoSuchBucket":
            raise


def _delete_artifacts(aws: Aws, names: Names, options: Options, say: Printer) -> None:
    _delete_bucket(aws, names.artifacts_bucket, f"{options.stage}/", say, remove_bucket=False)
    s3 = aws.client("s3")
    try:
        left = s3.list_objects_v2(Bucket=names.artifacts_bucket, MaxKeys=1).get("KeyCount", 0)
    except ClientError as exc:
        if cloud.error_code(exc) == "NoSuchBucket":
            return
        raise
    if not left or _only_templates(aws, names):
        _delete_bucket(aws, names.artifacts_bucket, "", say, remove_bucket=True)


def _only_templates(aws: Aws, names: Names) -> bool:
    """Other stages keep packages under their own prefix; templates alone are disposable."""
    page = aws.client("s3").list_objects_v2(Bucket=names.artifacts_bucket)
    return all(obj["Key"].startswith("templates/") for obj in page.get("Contents", []))


def _delete_rule_set_if_empty(aws: Aws, rule_set: str, say: Printer) -> None:
    ses = aws.client("ses")
    try:
        rules = ses.describe_receipt_rule_set(RuleSetName=rule_set).get("Rules", [])
    except ClientError as exc:
        if cloud.error_code(exc) == "RuleSetDoesNotExist":
            return
        raise
    if rules:
        say(f"SES: kept rule set {rule_set!r}: it holds other rules")
        return
    active = ses.describe_active_receipt_rule_set().get("Metadata", {}).get("Name")
    if active == rule_set:
        ses.set_active_receipt_rule_set()  # no name: deactivates
    ses.delete_receipt_rule_set(RuleSetName=rule_set)
    say(f"SES: deleted rule set {rule_set!r}, which Parley had created")


def summary_lines(request: Deployment, summary: Summary) -> list[str]:
    """What the shop owner needs next: where to sign in, what to embed, which DNS records to add."""
    options, out = request.options, summary.outputs
    lines = [
        "",
        f"Parley is deployed: stage {options.stage}, region {options.region}.",
        f"  Console:  {out.get('ConsoleUrl', '?')}",
    ]
    if summary.password:
        lines.append(f"  Sign in:  {request.operator_email} / {summary.password}   "
                     f"({summary.operator}; shown only now)")
    else:
        lines.append("  Sign in:  with the first operator's email and password from the first deploy "
                     "(--operator-email EMAIL --reset-password sets a new one)")
    lines += [
        "  Embed on every page of the shop:",
        f'    <script src="{out.get("WidgetUrl", "?")}" data-site="{request.site_id}" defer></script>',
        f"  Shop origins allowed: {', '.join(summary.origins) or 'none yet: add --shop-origin https://your.shop'}",
        f"  Deployment package: {summary.package_bytes / 1e6:.2f} MB zipped "
        f"({summary.unpacked_bytes / 1e6:.2f} MB unpacked)",
    ]
    records = dns_records(options, out)
    if records:
        lines.append("  DNS records to add:")
        lines += [f"    {kind:<5} {name}  {value}" for kind, name, value in records]
    return lines


def dns_records(options: Options, out: dict[str, str]) -> list[tuple[str, str, str]]:
    records = []
    if options.domain and options.ws_domain:
        records.append(("CNAME", options.domain, out.get("ApiDomainTarget", "?")))
        records.append(("CNAME", options.ws_domain, out.get("WebsocketDomainTarget", "?")))
    if options.inbound_domain:
        records.append(("MX", options.inbound_domain, f"10 inbound-smtp.{options.region}.amazonaws.com"))
        for n in (1, 2, 3):
            name, value = out.get(f"DkimName{n}"), out.get(f"DkimValue{n}")
            if name and value:
                records.append(("CNAME", name, value))
    return records
