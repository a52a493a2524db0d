"""The one CloudFormation template for a stage: Chalice's APIs and functions (expanded from SAM)
merged with Parley's tables, bucket, inbound mail, custom domain, role and outputs."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from infra.cloud import policy, resources, sam

INBOUND_HANDLER = "app.inbound_mail"
API_HANDLER_ID = "APIHandler"
REST_THROTTLE = sam.Throttle(rate=50, burst=100)        # requests/s per stage, all callers
WEBSOCKET_THROTTLE = sam.Throttle(rate=100, burst=200)  # frames/s per stage
_STAGE = re.compile(r"^[a-z][a-z0-9]{0,15}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")
_DOMAIN = re.compile(r"^(?=.{4,200}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


class OptionError(ValueError):
    pass


@dataclass(frozen=True)
class Options:
    stage: str
    region: str
    domain: str | None = None          # the console and API, e.g. support.example.com
    inbound_domain: str | None = None  # mail to reply+...@<inbound_domain> lands in dialogs

    def __post_init__(self) -> None:
        if not _STAGE.match(self.stage):
            raise OptionError("--stage: 1-16 lowercase letters and digits, starting with a letter")
        if not _REGION.match(self.region):
            raise OptionError(f"--region: {self.region!r} is not an AWS region like eu-west-1")
        for flag, value in (("--domain", self.domain), ("--inbound-domain", self.inbound_domain)):
            if value is not None and not _DOMAIN.match(value):
                raise OptionError(f"{flag}: {value!r} is not a domain name like support.example.com")

    @property
    def stack_name(self) -> str:
        return f"parley-{self.stage}"

    @property
    def table_prefix(self) -> str:
        return f"parley-{self.stage}"

    @property
    def function_prefix(self) -> str:
        return f"parley-{self.stage}-"

    @property
    def ws_domain(self) -> str | None:
        return f"ws.{self.domain}" if self.domain else None

    @property
    def receipt_rule_name(self) -> str:
        return f"parley-{self.stage}-inbound"

    def data_bucket(self, account: str, region: str) -> str:
        """The files and inbound mail bucket (names are global: account and region keep it unique)."""
        return f"{self.table_prefix}-data-{account}-{region}"


def _models() -> dict[str, Any]:
    from chalicelib.storage.tables import TABLES, TIME_TO_LIVE
    return {name: (model, TIME_TO_LIVE.get(name)) for name, model in TABLES.items()}


def table_names(options: Options) -> list[str]:
    return [f"{options.table_prefix}-{name}" for name in _models()]


def _sub(text: str) -> Any:
    return {"Fn::Sub": text} if "${" in text else text


EXECUTE_API_HOST = "${%s}.execute-api.${AWS::Region}.${AWS::URLSuffix}"


def _urls(options: Options) -> dict[str, str]:
    """Fn::Sub texts: the public base URL, the websocket URL and management endpoint, and the
    console's origins."""
    rest_host = EXECUTE_API_HOST % "RestAPI"
    ws_host = EXECUTE_API_HOST % "WebsocketAPI"
    domain_origin = [f"https://{options.domain}"] if options.domain else []
    return {
        "base": domain_origin[0] if domain_origin else f"https://{rest_host}/api",
        "ws_url": f"wss://{options.ws_domain}" if options.ws_domain else f"wss://{ws_host}/api",
        "ws_endpoint": f"https://{ws_host}/{policy.WS_STAGE}",
        "console_origins": ",".join([f"https://{rest_host}", *domain_origin]),
    }


def _environment(options: Options) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    urls = _urls(options)
    shared = {
        "PARLEY_STAGE": options.stage,
        "PARLEY_TABLE_PREFIX": options.table_prefix,
        "PARLEY_DATA_BUCKET": {"Ref": "DataBucket"},
        "PARLEY_SECRET": {"Ref": "ParleySecret"},
        "PARLEY_WS_ENDPOINT": _sub(urls["ws_endpoint"]),
        "PARLEY_WS_URL": _sub(urls["ws_url"]),
        "PARLEY_CONSOLE_ORIGINS": _sub(urls["console_origins"]),
        "POWERTOOLS_SERVICE_NAME": "parley",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    if options.inbound_domain:
        shared["PARLEY_MAIL_FROM"] = policy.mail_from(options.inbound_domain)
        shared["PARLEY_INBOUND_DOMAIN"] = options.inbound_domain
        shared["PARLEY_PUBLIC_URL"] = _sub(urls["base"])
    # The REST API's definition names its handler, so the handler cannot name the REST API back
    # (a cycle). It serves no websocket connects, where console origins are checked.
    api_handler = {"PARLEY_CONSOLE_ORIGINS": f"https://{options.domain}" if options.domain else ""}
    if options.inbound_domain:  # it builds no email links
        api_handler["PARLEY_PUBLIC_URL"] = f"https://{options.domain}" if options.domain else ""
    return shared, {API_HANDLER_ID: api_handler}


def _parameters(options: Options) -> dict[str, Any]:
    params: dict[str, Any] = {
        "CodeBucket": {"Type": "String", "Description": "S3 bucket holding deployment.zip"},
        "CodeKey": {"Type": "String", "Description": "S3 key of deployment.zip"},
        "ParleySecret": {"Type": "String", "NoEcho": True, "MinLength": 32,
                         "Description": "Signs visitor and operator tokens (kept in SSM by the deploy command)"},
    }
    if options.inbound_domain:
        params["ReceiptRuleSetName"] = {"Type": "String",
                                        "Description": "The account's active SES receipt rule set"}
    return params


def _function_role(options: Options) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "Policies": [{"PolicyName": "parley-functions",
                          "PolicyDocument": policy.policy_document(options.table_prefix,
                                                                   options.function_prefix,
                                                                   options.inbound_domain)}],
        },
    }


def _find_function(template: dict[str, Any], handler: str) -> str:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function" and resource["Properties"]["Handler"] == handler:
            return logical_id
    raise KeyError(f"no function with handler {handler}")


def _outputs(options: Options, template: dict[str, Any]) -> dict[str, Any]:
    urls = _urls(options)
    outputs: dict[str, Any] = {
        "ConsoleUrl": {"Value": _sub(f"{urls['base']}/console/index.html")},
        "WidgetUrl": {"Value": _sub(f"{urls['base']}/widget/parley.js")},
        "WebsocketUrl": {"Value": _sub(urls["ws_url"])},
        "DataBucketName": {"Value": {"Ref": "DataBucket"}},
        "TablePrefix": {"Value": options.table_prefix},
        "TableNames": {"Value": ",".join(table_names(options))},
    }
    if options.domain:
        outputs["ApiDomainTarget"] = {"Value": {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]}}
        outputs["WebsocketDomainTarget"] = {"Value": {"Fn::GetAtt": ["WebsocketDomain", "RegionalDomainName"]}}
    if options.inbound_domain:
        outputs["ReceiptRuleSetName"] = {"Value": {"Ref": "ReceiptRuleSetName"}}
        outputs["ReceiptRuleName"] = {"Value": options.receipt_rule_name}
        for n in (1, 2, 3):
            outputs[f"DkimName{n}"] = {"Value": {"Fn::GetAtt": ["InboundIdentity", f"DkimDNSTokenName{n}"]}}
            outputs[f"DkimValue{n}"] = {"Value": {"Fn::GetAtt": ["InboundIdentity", f"DkimDNSTokenValue{n}"]}}
    kept = {"RestAPIId", "WebsocketAPIId"}
    return {**{k: v for k, v in template.get("Outputs", {}).items() if k in kept}, **outputs}


def build_template(chalice_sam: dict[str, Any], options: Options) -> dict[str, Any]:
    """The complete template: deployable with CodeBucket, CodeKey and ParleySecret given."""
    shared, overrides = _environment(options)
    functions = sam.FunctionSettings(
        name_prefix=options.function_prefix,
        role={"Fn::GetAtt": ["FunctionRole", "Arn"]},
        code={"S3Bucket": {"Ref": "CodeBucket"}, "S3Key": {"Ref": "CodeKey"}},
        environment=shared, environment_overrides=overrides,
        tags={"parley:stage": options.stage},
    )
    template = sam.expand(chalice_sam, functions, REST_THROTTLE, WEBSOCKET_THROTTLE)
    template["Description"] = f"Parley live chat, stage {options.stage}"
    template["Parameters"] = _parameters(options)
    res = template["Resources"]
    res["FunctionRole"] = _function_role(options)
    for name, (model, ttl) in _models().items():
        res[resources.logical_table_id(name)] = resources.table(model, f"{options.table_prefix}-{name}", ttl)
    res["DataBucket"] = resources.data_bucket(_sub(options.data_bucket("${AWS::AccountId}", "${AWS::Region}")))
    rule_set_arn = _sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                        "receipt-rule-set/${ReceiptRuleSetName}:receipt-rule/" + options.receipt_rule_name)
    res["DataBucketPolicy"] = resources.data_bucket_policy(bool(options.inbound_domain), rule_set_arn)
    if options.inbound_domain:
        res.update(resources.inbound_mail(options.inbound_domain, options.receipt_rule_name,
                                          _find_function(template, INBOUND_HANDLER), rule_set_arn))
    if options.domain and options.ws_domain:
        res.update(resources.custom_domain(options.domain, options.ws_domain))
    template["Outputs"] = _outputs(options, template)
    return template
