"""`python -m infra package|deploy|destroy`: the template, the package, and a deploy against moto."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.cloud import policy, sam

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"


def run_infra(*args: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    """Runs the CLI as a user would; ``env`` entries set to None are removed."""
    merged = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")} | (env or {})
    return subprocess.run([sys.executable, "-m", "infra", *args], cwd=ROOT, capture_output=True, text=True,
                          env={k: v for k, v in merged.items() if v is not None}, timeout=300)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    """`python -m infra package` with a custom domain and inbound mail: every resource there is."""
    out = tmp_path_factory.mktemp("package")
    no_credentials = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": None,
                      "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}
    result = run_infra("package", str(out), "--stage", "prod", "--region", REGION,
                       "--domain", "support.shop.example", "--inbound-domain", "mail.shop.example",
                       env=no_credentials)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def template(packaged) -> dict:
    return json.loads((packaged / "parley.template.json").read_text())


def of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def test_packaged_templates_pass_cfn_lint(packaged, tmp_path):
    plain = tmp_path / "plain"  # and the smallest variant: no domain, no inbound mail
    assert run_infra("package", str(plain), "--stage", "prod", "--region", REGION).returncode == 0
    lint = "import sys; from cfnlint.runner import main; sys.exit(main())"
    result = subprocess.run([sys.executable, "-c", lint, str(packaged / "parley.template.json"),
                             str(plain / "parley.template.json")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_deployment_package_leaves_out_what_lambda_provides(packaged):
    zip_path = packaged / "deployment.zip"
    assert zip_path.stat().st_size < 5_000_000
    names = zipfile.ZipFile(zip_path).namelist()
    tops = {name.split("/")[0] for name in names}
    assert not tops & {"boto3", "botocore", "s3transfer", "chalice-1.34.0.dist-info"}
    assert {"app.py", "chalicelib", "pynamodb", "aws_lambda_powertools", "chalice"} <= tops
    assert "chalicelib/_web/widget/parley.js" in names and "chalicelib/_web/console/index.html" in names


def test_every_function_can_deliver_to_websockets_and_signs_with_the_secret(template):
    functions = of_type(template, "AWS::Lambda::Function")
    handlers = {f["Properties"]["Handler"] for f in functions.values()}
    assert handlers == {"app.app", "app.ws_connect", "app.ws_message", "app.ws_disconnect", "app.inbound_mail",
                        "app.triggers_schedule", "app.mail_schedule", "app.answer_time_schedule"}
    for function in functions.values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["PARLEY_WS_ENDPOINT"]["Fn::Sub"].endswith(f"/{policy.WS_STAGE}")
        assert env["PARLEY_WS_URL"] == "wss://ws.support.shop.example"
        assert env["PARLEY_SECRET"] == {"Ref": "ParleySecret"} and env["PARLEY_TABLE_PREFIX"] == "parley-prod"
        assert function["Properties"]["Role"] == {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    assert template["Parameters"]["ParleySecret"]["NoEcho"] is True
    mail_links = {f["Properties"]["Handler"]: f["Properties"]["Environment"]["Variables"]["PARLEY_PUBLIC_URL"]
                  for f in functions.values()}
    assert mail_links["app.mail_schedule"] == "https://support.shop.example"  # unsubscribe links
    assert all(env["PARLEY_INBOUND_DOMAIN"] == "mail.shop.example" for env in
               (f["Properties"]["Environment"]["Variables"] for f in functions.values()))


def test_tables_follow_the_models_with_recovery_and_retention(template):
    from chalicelib.storage.tables import TABLES

    tables = {t["Properties"]["TableName"]: t for t in of_type(template, "AWS::DynamoDB::Table").values()}
    assert set(tables) == {f"parley-prod-{name}" for name in TABLES}
    for name, model in TABLES.items():
        table = tables[f"parley-prod-{name}"]
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
        schema = model._get_schema()
        expected = {i["index_name"]: i["key_schema"]
                    for i in schema["global_secondary_indexes"] + schema["local_secondary_indexes"]}
        indexes = props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", [])
        assert {i["IndexName"]: i["KeySchema"] for i in indexes} == expected
    assert tables["parley-prod-connections"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at", "Enabled": True}


def test_data_bucket_is_private_encrypted_and_expires_raw_mail(template):
    bucket = template["Resources"]["DataBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    raw_mail = [r for r in bucket["LifecycleConfiguration"]["Rules"] if r.get("Prefix") == "inbound/"]
    assert raw_mail and raw_mail[0]["ExpirationInDays"] > 0
    assert "POST" in bucket["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"]


def test_inbound_mail_rule_stores_then_invokes_for_the_domain_only(template):
    rule = template["Resources"]["InboundReceiptRule"]
    assert rule["Properties"]["RuleSetName"] == {"Ref": "ReceiptRuleSetName"}
    assert rule["Properties"]["Rule"]["Recipients"] == ["mail.shop.example"]
    actions = rule["Properties"]["Rule"]["Actions"]
    assert list(actions[0]) == ["S3Action"] and list(actions[1]) == ["LambdaAction"]
    assert set(rule["DependsOn"]) == {"DataBucketPolicy", "InboundMailPermission"}


def test_role_policy_is_the_one_checked_against_recorded_calls(template):
    role_policy = template["Resources"]["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert role_policy == policy.policy_document("parley-prod", "parley-prod-", "mail.shop.example")


def test_schedules_become_rules_that_may_invoke_their_function():
    chalice_sam = {"Resources": {"Tick": {"Type": "AWS::Serverless::Function", "Properties": {
        "Handler": "app.tick", "Runtime": "python3.11", "CodeUri": "./deployment.zip", "Timeout": 60,
        "MemorySize": 128, "Events": {"TickEvent": {"Type": "Schedule",
                                                    "Properties": {"Schedule": "rate(1 minute)"}}}}}}}
    settings = sam.FunctionSettings("parley-prod-", {"Ref": "Role"}, {"S3Bucket": "b", "S3Key": "k"},
                                    {"PARLEY_WS_ENDPOINT": "https://ws/api"})
    out = sam.expand(chalice_sam, settings, sam.Throttle(1, 1), sam.Throttle(1, 1))["Resources"]
    assert out["TickTickEventRule"]["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert out["TickTickEventRulePermission"]["Properties"]["Principal"] == "events.amazonaws.com"
    assert out["Tick"]["Properties"]["Environment"]["Variables"]["PARLEY_WS_ENDPOINT"] == "https://ws/api"


def test_a_preflight_mock_integration_is_refused_not_dropped():
    chalice_sam = {"Resources": {"RestAPI": {"Type": "AWS::Serverless::Api", "Properties": {
        "DefinitionBody": {"paths": {"/x": {"options": {"x-amazon-apigateway-integration": {"type": "mock"}}}}}}}}}
    settings = sam.FunctionSettings("p-", {}, {}, {})
    with pytest.raises(sam.UnsupportedSam, match="mock"):
        sam.expand(chalice_sam, settings, sam.Throttle(1, 1), sam.Throttle(1, 1))


@pytest.mark.parametrize("args, message", [
    (["--stage", "Prod!"], "--stage"),
    (["--region", "mars"], "--region"),
    (["--domain", "not a domain"], "--domain"),
    (["--shop-origin", "https://shop.example/path", "--operator-email", "a@b.co"], "--shop-origin"),
    (["--operator-email", "nobody"], "--operator-email"),
])
def test_bad_options_get_a_clear_error(args, message):
    result = run_infra("deploy", "--region", REGION, *args)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_deploy_without_credentials_says_so():
    result = run_infra("deploy", "--region", REGION, "--operator-email", "me@shop.example",
                       env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_PROFILE": None,
                            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
                            "AWS_EC2_METADATA_DISABLED": "true"})
    assert result.returncode == 1 and "no AWS credentials" in result.stderr
