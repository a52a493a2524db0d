"""Turns Chalice's SAM template into plain CloudFormation.

Plain resources need no SAM transform (so no CAPABILITY_AUTO_EXPAND and no hidden resources),
and they let Parley name its functions, share one least-privilege role, own the log groups
(with a retention) and throttle both APIs. Chalice's own roles are dropped.
"""
from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

API_STAGE = "api"


class UnsupportedSam(ValueError):
    pass


@dataclass(frozen=True)
class FunctionSettings:
    name_prefix: str                          # e.g. "parley-prod-"
    role: dict[str, Any]                      # e.g. {"Fn::GetAtt": ["FunctionRole", "Arn"]}
    code: dict[str, Any]                      # {"S3Bucket": ..., "S3Key": ...}
    environment: dict[str, Any]               # variables for every function
    environment_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # by logical id
    log_retention_days: int = 30
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Throttle:
    rate: float
    burst: int


def function_name(prefix: str, logical_id: str) -> str:
    """"WebsocketMessage" -> "parley-prod-websocket-message"."""
    return prefix + re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id).lower()


def expand(sam: dict[str, Any], functions: FunctionSettings, rest: Throttle, websocket: Throttle) -> dict[str, Any]:
    """A CloudFormation template with the same APIs and functions as ``sam``."""
    source = copy.deepcopy(sam)
    resources: dict[str, Any] = {}
    for logical_id, resource in source["Resources"].items():
        kind = resource["Type"]
        if kind == "AWS::IAM::Role":
            continue
        if kind == "AWS::Serverless::Function":
            resources.update(_function(logical_id, resource, functions))
        elif kind == "AWS::Serverless::Api":
            resources.update(_rest_api(logical_id, resource, functions.name_prefix, rest))
        elif kind.startswith("AWS::Serverless::"):
            raise UnsupportedSam(f"{logical_id}: {kind} is not expanded yet")
        else:
            resources[logical_id] = resource
    for resource in resources.values():
        if resource["Type"] == "AWS::ApiGatewayV2::Stage":
            resource["Properties"]["DefaultRouteSettings"] = {
                "ThrottlingRateLimit": websocket.rate, "ThrottlingBurstLimit": websocket.burst}
    template = {key: value for key, value in source.items() if key not in ("Transform", "Resources")}
    template["Resources"] = resources
    return template


def _function(logical_id: str, resource: dict[str, Any], settings: FunctionSettings) -> dict[str, Any]:
    props = resource["Properties"]
    name = function_name(settings.name_prefix, logical_id)
    log_group_id = f"{logical_id}LogGroup"
    variables = {**settings.environment, **settings.environment_overrides.get(logical_id, {})}
    tags = {**props.get("Tags", {}), **settings.tags}
    function = {
        "Type": "AWS::Lambda::Function",
        "DependsOn": [log_group_id],
        "Properties": {
            "FunctionName": name,
            "Handler": props["Handler"],
            "Runtime": props["Runtime"],
            "Code": settings.code,
            "Role": settings.role,
            "Timeout": props["Timeout"],
            "MemorySize": props["MemorySize"],
            "Architectures": props.get("Architectures", ["x86_64"]),
            "TracingConfig": {"Mode": props.get("Tracing", "PassThrough")},
            "Environment": {"Variables": variables},
            "Tags": [{"Key": key, "Value": value} for key, value in sorted(tags.items())],
        },
    }
    out = {
        logical_id: function,
        log_group_id: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": f"/aws/lambda/{name}",
                           "RetentionInDays": settings.log_retention_days},
        },
    }
    for event_id, event in props.get("Events", {}).items():
        out.update(_event(logical_id, event_id, event))
    return out


def _event(function_id: str, event_id: str, event: dict[str, Any]) -> dict[str, Any]:
    if event["Type"] != "Schedule":
        raise UnsupportedSam(f"{function_id}.{event_id}: {event['Type']} events are not expanded yet")
    rule_id = f"{function_id}{event_id}Rule"
    return {
        rule_id: {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": event["Properties"]["Schedule"],
                "State": "ENABLED",
                "Targets": [{"Arn": {"Fn::GetAtt": [function_id, "Arn"]}, "Id": function_id}],
            },
        },
        f"{rule_id}Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": function_id},
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
            },
        },
    }


def _rest_api(logical_id: str, resource: dict[str, Any], name_prefix: str, throttle: Throttle) -> dict[str, Any]:
    """A REST API as explicit Resource and Method resources (Lambda proxy integrations only),
    readable in review and creatable by CloudFormation implementations without OpenAPI import."""
    props = resource["Properties"]
    body = props["DefinitionBody"]
    out: dict[str, Any] = {
        logical_id: {
            "Type": "AWS::ApiGateway::RestApi",
            "Properties": {
                "Name": name_prefix.rstrip("-"),
                "EndpointConfiguration": {"Types": ["REGIONAL"]},
                "MinimumCompressionSize": 1024,
                "BinaryMediaTypes": body.get("x-amazon-apigateway-binary-media-types", []),
            },
        },
    }
    methods: list[str] = []
    for path, operations in sorted(body["paths"].items()):
        parent = _path_resources(logical_id, path, out)
        for verb, operation in sorted(operations.items()):
            integration = operation["x-amazon-apigateway-integration"]
            if integration["type"] != "aws_proxy":
                raise UnsupportedSam(f"{verb.upper()} {path}: {integration['type']} integrations (e.g. "
                                     "cors=True preflights) are not expanded; answer in the app instead")
            method_id = f"{logical_id}{_camel(path)}{verb.capitalize()}"
            out[method_id] = {
                "Type": "AWS::ApiGateway::Method",
                "Properties": {
                    "RestApiId": {"Ref": logical_id}, "ResourceId": parent,
                    "HttpMethod": verb.upper(), "AuthorizationType": "NONE",
                    "Integration": {"Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
                                    "Uri": integration["uri"]},
                },
            }
            methods.append(method_id)
    # A deployment is immutable: a new logical id whenever the API changes makes CloudFormation
    # deploy the new definition (what SAM does behind its transform).
    digest = hashlib.sha256(json.dumps([out[m] for m in methods], sort_keys=True).encode()).hexdigest()[:10]
    deployment_id = f"{logical_id}Deployment{digest}"
    out[deployment_id] = {
        "Type": "AWS::ApiGateway::Deployment",
        "DependsOn": methods,
        "Properties": {"RestApiId": {"Ref": logical_id}},
    }
    out[f"{logical_id}Stage"] = {
        "Type": "AWS::ApiGateway::Stage",
        "Properties": {
            "RestApiId": {"Ref": logical_id},
            "DeploymentId": {"Ref": deployment_id},
            "StageName": props.get("StageName", API_STAGE),
            "MethodSettings": [{"ResourcePath": "/*", "HttpMethod": "*",
                                "ThrottlingRateLimit": throttle.rate,
                                "ThrottlingBurstLimit": throttle.burst}],
        },
    }
    return out


def _camel(path: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", path) if part)


def _path_resources(api_id: str, path: str, out: dict[str, Any]) -> Any:
    """Adds the Resource chain for ``path`` (shared prefixes once); returns the last one's id."""
    parent: Any = {"Fn::GetAtt": [api_id, "RootResourceId"]}
    walked = ""
    for part in path.strip("/").split("/"):
        walked += "/" + part
        resource_id = f"{api_id}Path{_camel(walked)}" + ("Param" if part.startswith("{") else "")
        out.setdefault(resource_id, {
            "Type": "AWS::ApiGateway::Resource",
            "Properties": {"RestApiId": {"Ref": api_id}, "ParentId": parent, "PathPart": part},
        })
        parent = {"Ref": resource_id}
    return parent
