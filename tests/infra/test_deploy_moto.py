"""The deploy and destroy commands, run as a shop owner runs them, against moto's CloudFormation.

moto creates the tables, bucket, role, functions, log groups and REST API; it skips what it
does not implement (API Gateway v2, SES rules, certificates), so those are covered by cfn-lint
and the template tests instead.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import ClientError

from chalicelib.storage.tables import TABLES
from infra.cloud.template import Options
from infra.local.moto_server import MotoServer
from tests.infra.test_deploy import REGION, ROOT, run_infra

EMAIL, SHOP = "owner@shop.example", "https://shop.example"


@pytest.fixture(scope="module")
def moto():
    server = MotoServer()
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def aws(moto):
    return lambda service: boto3.client(service, region_name=REGION, endpoint_url=moto)


def infra(moto: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_infra(*args, "--stage", "prod", "--region", REGION, "--endpoint-url", moto,
                     "--poll-seconds", "0.1", env={"AWS_ACCESS_KEY_ID": "testing",
                                                   "AWS_SECRET_ACCESS_KEY": "testing"})


def sign_in(moto: str, email: str, password: str) -> subprocess.CompletedProcess[str]:
    """Parley's own sign-in code against the deployed tables."""
    code = ("import json, sys; from chalicelib.http import sessions; "
            "print(json.dumps(sessions.operator_login(json.loads(sys.argv[1]))['operator']))")
    env = {**os.environ, "PARLEY_STAGE": "prod", "PARLEY_TABLE_PREFIX": "parley-prod",
           "PARLEY_AWS_ENDPOINT": moto, "PARLEY_SECRET": "x" * 32, "AWS_REGION": REGION,
           "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    return subprocess.run([sys.executable, "-c", code, json.dumps({"email": email, "password": password})],
                          cwd=ROOT, env=env, capture_output=True, text=True)


def tables(aws) -> list[str]:
    return sorted(name for name in aws("dynamodb").list_tables()["TableNames"] if name.startswith("parley-prod-"))


def secret_exists(aws) -> bool:
    try:
        aws("ssm").get_parameter(Name="/parley/prod/token-secret")
        return True
    except ClientError:
        return False


def test_dry_run_prints_the_plan_and_creates_nothing(moto, aws):
    result = infra(moto, "deploy", "--dry-run", "--operator-email", EMAIL, "--shop-origin", SHOP)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Add\s+AWS::DynamoDB::Table\s+MessagesTable", result.stdout)
    assert re.search(r"Add\s+AWS::Lambda::Function\s+WebsocketMessage", result.stdout)
    assert "Dry run: nothing was changed." in result.stdout
    assert tables(aws) == [] and not secret_exists(aws)
    with pytest.raises(ClientError):
        aws("cloudformation").describe_stacks(StackName="parley-prod")


def test_deploy_update_and_destroy(moto, aws):
    first = infra(moto, "deploy", "--operator-email", EMAIL, "--shop-origin", SHOP)
    assert first.returncode == 0, first.stderr
    out = first.stdout
    console = re.search(r"Console:\s+(https://\S+)", out).group(1)
    assert re.fullmatch(r"https://\w+\.execute-api\.eu-west-1\.amazonaws\.com/api/console/index\.html", console)
    assert re.search(r'<script src="https://\S+/api/widget/parley\.js" data-site="shop" defer></script>', out)
    assert "CREATE_COMPLETE" in out  # stack events, as they happen
    password = re.search(rf"Sign in:\s+{re.escape(EMAIL)} / (\S+)", out).group(1)

    # What the stack made, as the functions will find it.
    assert tables(aws) == sorted(f"parley-prod-{n}" for n in TABLES)
    indexes = aws("dynamodb").describe_table(TableName="parley-prod-dialogs")["Table"]["GlobalSecondaryIndexes"]
    assert sorted(i["IndexName"] for i in indexes) == ["assignee-index", "mail-index", "site-status-index", "visitor-index",
                                                         "wait-index"]
    functions = {f["FunctionName"]: f for f in aws("lambda").list_functions()["Functions"]}
    assert set(functions) >= {"parley-prod-websocket-message", "parley-prod-inbound-mail", "parley-prod-a-p-i-handler"}
    for function in functions.values():
        env = function["Environment"]["Variables"]
        assert env["PARLEY_WS_ENDPOINT"].endswith(".execute-api.eu-west-1.amazonaws.com/api")
        assert len(env["PARLEY_SECRET"]) >= 32 and env["PARLEY_TABLE_PREFIX"] == "parley-prod"
    assert json.loads(sign_in(moto, EMAIL, password).stdout)["email"] == EMAIL
    assert sign_in(moto, EMAIL, "wrong-password").returncode != 0

    # A second deploy changes nothing it need not: same secret, same operator, no password shown.
    again = infra(moto, "deploy")
    assert again.returncode == 0, again.stderr
    assert "Token secret: kept" in again.stdout and "first operator: kept" in again.stdout
    assert password not in again.stdout and sign_in(moto, EMAIL, password).returncode == 0
    plan = infra(moto, "deploy", "--dry-run")
    assert plan.returncode == 0 and "no changes to the stack" in plan.stdout

    # Destroy, keeping data: the tables stay, and a new deploy will not trample them.
    kept = infra(moto, "destroy", "--keep-data")
    assert kept.returncode == 0, kept.stderr
    assert len(tables(aws)) == len(TABLES) and secret_exists(aws)
    refused = infra(moto, "deploy", "--operator-email", EMAIL)
    assert refused.returncode == 1 and "remain from an earlier deploy" in refused.stderr

    # Destroy: everything it created is gone.
    gone = infra(moto, "destroy")
    assert gone.returncode == 0, gone.stderr
    assert tables(aws) == [] and not secret_exists(aws)
    buckets = [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]
    assert not [b for b in buckets if b.startswith("parley-")]


@pytest.fixture
def ses_account():
    from moto import mock_aws

    from infra.cloud.aws import Aws
    from infra.cloud.stage import Names

    with mock_aws():
        cloud = Aws(REGION)
        yield cloud, Names("123456789012", Options("prod", REGION, inbound_domain="mail.shop.example"))


def test_parley_joins_an_active_rule_set_without_touching_its_rules(ses_account):
    from infra.cloud.deploy import _receipt_rule_set
    from infra.cloud.destroy import _delete_rule_set_if_empty

    cloud, names = ses_account
    ses = cloud.client("ses")
    ses.create_receipt_rule_set(RuleSetName="shop-mail")
    ses.create_receipt_rule(RuleSetName="shop-mail", Rule={"Name": "helpdesk", "Enabled": True,
                                                           "Recipients": ["help@shop.example"], "Actions": []})
    ses.set_active_receipt_rule_set(RuleSetName="shop-mail")

    assert _receipt_rule_set(cloud, names, print, create=True) == ("shop-mail", False)
    _delete_rule_set_if_empty(cloud, "shop-mail", print)  # holds another rule: kept
    assert ses.describe_active_receipt_rule_set()["Metadata"]["Name"] == "shop-mail"
    assert [r["Name"] for r in ses.describe_receipt_rule_set(RuleSetName="shop-mail")["Rules"]] == ["helpdesk"]


def test_without_an_active_rule_set_parley_makes_one_and_removes_it_on_destroy(ses_account):
    from infra.cloud.deploy import _receipt_rule_set
    from infra.cloud.destroy import _delete_rule_set_if_empty

    cloud, names = ses_account
    ses = cloud.client("ses")
    assert _receipt_rule_set(cloud, names, print, create=False) == ("parley-prod", True)
    assert "Metadata" not in ses.describe_active_receipt_rule_set()  # a dry run made nothing
    assert _receipt_rule_set(cloud, names, print, create=True) == ("parley-prod", True)
    assert ses.describe_active_receipt_rule_set()["Metadata"]["Name"] == "parley-prod"
    _delete_rule_set_if_empty(cloud, "parley-prod", print)
    assert "Metadata" not in ses.describe_active_receipt_rule_set()
    assert ses.list_receipt_rule_sets()["RuleSets"] == []


def test_a_failed_first_deploy_is_cleared_but_data_never_is(ses_account):
    from infra.cloud.aws import DeployError
    from infra.cloud.destroy import remove_failed_first

    cloud, names = ses_account
    options = names.options
    stack = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})
    ddb = cloud.client("dynamodb")
    for name in ("sites", "messages"):
        ddb.create_table(TableName=f"parley-prod-{name}", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    ddb.put_item(TableName="parley-prod-messages", Item={"k": {"S": "a message someone wrote"}})
    cloud.client("cloudformation").create_stack(StackName=options.stack_name, TemplateBody=stack)
    with pytest.raises(DeployError, match="parley-prod-messages hold data"):
        remove_failed_first(cloud, names, options, print)
    assert len(ddb.list_tables()["TableNames"]) == 2  # nothing deleted

    ddb.delete_item(TableName="parley-prod-messages", Key={"k": {"S": "a message someone wrote"}})
    cloud.client("cloudformation").create_stack(StackName=options.stack_name, TemplateBody=stack)
    remove_failed_first(cloud, names, options, print)
    assert ddb.list_tables()["TableNames"] == []
