"""Parley's own CloudFormation resources: tables, the data bucket, inbound mail, custom domain.

Tables come from the PynamoDB models, so the template and the code cannot disagree on a key
or an index. Data (tables, bucket) is retained by CloudFormation; ``destroy`` deletes it
itself unless asked to keep it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.models import Model

INBOUND_PREFIX = "inbound/"
RAW_MAIL_DAYS = 30
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}


def logical_table_id(short_name: str) -> str:
    return "".join(word.capitalize() for word in short_name.split("_")) + "Table"


def table(model: type[Model], table_name: str, ttl_attribute: str | None) -> dict[str, Any]:
    """An on-demand table with point-in-time recovery, from a PynamoDB model's schema."""
    schema = model._get_schema()
    props: dict[str, Any] = {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
        "KeySchema": sorted(schema["key_schema"], key=lambda k: k["KeyType"] != "HASH"),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if schema["global_secondary_indexes"]:
        props["GlobalSecondaryIndexes"] = [_index(i) for i in schema["global_secondary_indexes"]]
    if schema["local_secondary_indexes"]:
        props["LocalSecondaryIndexes"] = [_index(i) for i in schema["local_secondary_indexes"]]
    if ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl_attribute, "Enabled": True}
    return {"Type": "AWS::DynamoDB::Table", **RETAIN, "Properties": props}


def _index(index: Mapping[str, Any]) -> dict[str, Any]:
    return {"IndexName": index["index_name"], "KeySchema": index["key_schema"],
            "Projection": index["projection"]}


def data_bucket(bucket_name: Any) -> dict[str, Any]:
    """Files and raw inbound mail: private, encrypted, raw mail expiring, presigned uploads allowed."""
    return {
        "Type": "AWS::S3::Bucket",
        **RETAIN,
        "Properties": {
            "BucketName": bucket_name,
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True, "BlockPublicPolicy": True,
                "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
            "LifecycleConfiguration": {"Rules": [
                {"Id": "raw-mail", "Status": "Enabled", "Prefix": INBOUND_PREFIX,
                 "ExpirationInDays": RAW_MAIL_DAYS},
                {"Id": "abandoned-uploads", "Status": "Enabled",
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
            ]},
            # Widgets run on the shops' own origins; a presigned POST or GET is the credential.
            "CorsConfiguration": {"CorsRules": [{
                "AllowedMethods": ["GET", "POST"], "AllowedOrigins": ["*"],
                "AllowedHeaders": ["*"], "MaxAge": 3000,
            }]},
        },
    }


def data_bucket_policy(inbound: bool, rule_set_arn: dict[str, Any] | None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [{
        "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [{"Fn::GetAtt": ["DataBucket", "Arn"]},
                     {"Fn::Sub": "${DataBucket.Arn}/*"}],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }]
    if inbound:
        statements.append({
            "Sid": "SesStoresInboundMail", "Effect": "Allow",
            "Principal": {"Service": "ses.amazonaws.com"}, "Action": "s3:PutObject",
            "Resource": {"Fn::Sub": f"${{DataBucket.Arn}}/{INBOUND_PREFIX}*"},
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                          "ArnLike": {"aws:SourceArn": rule_set_arn}},
        })
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {"Bucket": {"Ref": "DataBucket"},
                       "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}},
    }


def inbound_mail(domain: str, rule_name: str, function_id: str, rule_set_arn: dict[str, Any]) -> dict[str, Any]:
    """The domain identity, and a receipt rule for the domain only: raw mail to S3, then the
    function (SES runs actions in order, so the object exists when the function runs)."""
    return {
        "InboundIdentity": {
            "Type": "AWS::SES::EmailIdentity",
            "Properties": {"EmailIdentity": domain},
        },
        "InboundMailPermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": {"Ref": function_id}, "Action": "lambda:InvokeFunction",
                "Principal": "ses.amazonaws.com", "SourceAccount": {"Ref": "AWS::AccountId"},
                "SourceArn": rule_set_arn,
            },
        },
        "InboundReceiptRule": {
            "Type": "AWS::SES::ReceiptRule",
            # SES checks both permissions when the rule is created.
            "DependsOn": ["DataBucketPolicy", "InboundMailPermission"],
            "Properties": {
                "RuleSetName": {"Ref": "ReceiptRuleSetName"},
                "Rule": {
                    "Name": rule_name, "Enabled": True, "ScanEnabled": True, "TlsPolicy": "Optional",
                    "Recipients": [domain],
                    "Actions": [
                        {"S3Action": {"BucketName": {"Ref": "DataBucket"},
                                      "ObjectKeyPrefix": INBOUND_PREFIX}},
                        {"LambdaAction": {"FunctionArn": {"Fn::GetAtt": [function_id, "Arn"]},
                                          "InvocationType": "Event"}},
                    ],
                },
            },
        },
    }


def custom_domain(domain: str, ws_domain: str) -> dict[str, Any]:
    """A DNS-validated certificate and regional custom domains for the REST and websocket APIs."""
    return {
        "Certificate": {
            "Type": "AWS::CertificateManager::Certificate",
            "Properties": {"DomainName": domain, "SubjectAlternativeNames": [ws_domain],
                           "ValidationMethod": "DNS"},
        },
        "ApiDomain": {
            "Type": "AWS::ApiGateway::DomainName",
            "Properties": {"DomainName": domain, "RegionalCertificateArn": {"Ref": "Certificate"},
                           "EndpointConfiguration": {"Types": ["REGIONAL"]}, "SecurityPolicy": "TLS_1_2"},
        },
        "ApiBasePathMapping": {
            "Type": "AWS::ApiGateway::BasePathMapping",
            "DependsOn": ["RestAPIStage"],
            "Properties": {"DomainName": {"Ref": "ApiDomain"}, "RestApiId": {"Ref": "RestAPI"},
                           "Stage": "api"},
        },
        "WebsocketDomain": {
            "Type": "AWS::ApiGatewayV2::DomainName",
            "Properties": {"DomainName": ws_domain, "DomainNameConfigurations": [
                {"CertificateArn": {"Ref": "Certificate"}, "EndpointType": "REGIONAL",
                 "SecurityPolicy": "TLS_1_2"}]},
        },
        "WebsocketApiMapping": {
            "Type": "AWS::ApiGatewayV2::ApiMapping",
            "DependsOn": ["WebsocketAPIStage"],
            "Properties": {"ApiId": {"Ref": "WebsocketAPI"}, "DomainName": {"Ref": "WebsocketDomain"},
                           "Stage": "api"},
        },
    }
