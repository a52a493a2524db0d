"""`python -m infra destroy`: the stack, then what it retains on purpose (unless kept), the
rule set Parley made (when empty) and this stage's packages."""
from __future__ import annotations

from botocore.exceptions import ClientError

from infra.cloud import aws as cloud
from infra.cloud.aws import Aws, DeployError, Printer
from infra.cloud.stage import CREATED_RULE_SET_TAG, Names, existing_tables
from infra.cloud.template import Options


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
        delete_data(aws, names, options, say)
    created_rule_set = stack_tags.get(CREATED_RULE_SET_TAG)
    if created_rule_set:
        _delete_rule_set_if_empty(aws, created_rule_set, say)
    _delete_artifacts(aws, names, options, say)
    say("Done.")


def delete_data(aws: Aws, names: Names, options: Options, say: Printer, keep_secret: bool = False) -> None:
    ddb = aws.client("dynamodb")
    for table in existing_tables(aws, options):
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
    """This stage's packages; then the bucket, unless another stage's packages remain in it
    (templates are only read while a stack changes, so they do not hold it)."""
    _delete_bucket(aws, names.artifacts_bucket, f"{options.stage}/", say, remove_bucket=False)
    if all(key.startswith("templates/") for key in _keys(aws, names.artifacts_bucket)):
        _delete_bucket(aws, names.artifacts_bucket, "", say, remove_bucket=True)


def _keys(aws: Aws, bucket: str, most: int = 1000) -> list[str]:
    """Up to ``most`` object keys; none when the bucket does not exist."""
    try:
        page = aws.client("s3").list_objects_v2(Bucket=bucket, MaxKeys=most)
    except ClientError as exc:
        if cloud.error_code(exc) == "NoSuchBucket":
            return []
        raise
    return [obj["Key"] for obj in page.get("Contents", [])]


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


def remove_failed_first(aws: Aws, names: Names, options: Options, say: Printer) -> None:
    """Deletes a stack whose creation failed, and the tables and bucket it retained. A failed
    first deploy never served anyone, so they are empty; anything holding data is refused."""
    cloud.delete(aws, options.stack_name, say)
    ddb = aws.client("dynamodb")
    tables = existing_tables(aws, options)
    holding = [t for t in tables if ddb.scan(TableName=t, Limit=1, Select="COUNT")["Count"]]
    if holding or _keys(aws, names.data_bucket, most=1):
        raise DeployError(f"{', '.join(holding) or names.data_bucket} hold data although the stack "
                          "failed to create; back it up and remove it, then deploy again")
    for table in tables:
        ddb.delete_table(TableName=table)
    _delete_bucket(aws, names.data_bucket, "", say, remove_bucket=True)
