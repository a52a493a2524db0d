"""The Lambda functions' IAM policy: each table, index and action Parley's code uses, by name.

This list is the contract between the code and its permissions. ``tests/infra/test_policy.py`` records
every AWS call the code makes under moto and fails when a call is missing here, or when a
grant here is never used.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WS_STAGE = "api"  # the websocket API's stage (Chalice's default)


@dataclass(frozen=True)
class TableGrant:
    table: str                 # short name: the table is "<prefix>-<table>"
    actions: tuple[str, ...]   # DynamoDB actions, without the "dynamodb:" prefix
    index: str | None = None


DATA_GRANTS: tuple[TableGrant, ...] = (
    TableGrant("sites", ("GetItem", "UpdateItem")),
    TableGrant("operators", ("GetItem",)),
    TableGrant("operators", ("Query",), index="email-index"),
    TableGrant("operators", ("Query",), index="site-index"),
    TableGrant("visitors", ("GetItem", "PutItem", "UpdateItem")),
    TableGrant("visitors", ("Query",), index="live-index"),
    TableGrant("visitors", ("Query",), index="due-index"),
    TableGrant("visitors", ("Query",), index="followup-index"),
    TableGrant("visitors", ("Query",), index="external-index"),
    TableGrant("visitors", ("Query",), index="email-index"),
    TableGrant("visitor_events", ("PutItem", "Query")),
    TableGrant("dialogs", ("GetItem", "PutItem", "UpdateItem", "DeleteItem")),
    TableGrant("dialogs", ("Query",), index="site-status-index"),
    TableGrant("dialogs", ("Query",), index="assignee-index"),
    TableGrant("dialogs", ("Query",), index="visitor-index"),
    TableGrant("dialogs", ("Query",), index="mail-index"),
    TableGrant("dialogs", ("Query",), index="wait-index"),
    TableGrant("messages", ("GetItem", "PutItem")),
    TableGrant("messages", ("Query",), index="seq-index"),
    TableGrant("templates", ("Query", "PutItem", "DeleteItem")),
    TableGrant("site_config", ("Query", "PutItem", "UpdateItem", "DeleteItem")),
    TableGrant("greetings", ("GetItem", "Query", "PutItem", "UpdateItem")),
    TableGrant("mail", ("GetItem", "PutItem")),
    TableGrant("routing", ("GetItem", "Query", "PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem")),
    TableGrant("connections", ("GetItem", "PutItem", "UpdateItem", "DeleteItem")),
    TableGrant("connections", ("Query",), index="channel-index"),
)
CONNECTION_METHODS: tuple[str, ...] = ("POST", "DELETE")  # @connections: post a frame; close a blocked visitor's socket
# Chat files: browsers upload with a presigned POST (the functions' s3:PutObject) and download
# with a presigned GET; HeadObject, when a message attaches a file, is s3:GetObject too.
FILE_ACTIONS: tuple[str, ...] = ("PutObject", "GetObject")
FILES_PREFIX = "files/"
# Inbound mail: the raw MIME SES's S3 action stored, read by the inbound function.
INBOUND_ACTIONS: tuple[str, ...] = ("GetObject",)
INBOUND_PREFIX = "inbound/"
# Follow-up emails and the dialog mirror (SESv2 SendEmail is the ses:SendEmail action), from the
# inbound domain's verified identity.
MAIL_ACTIONS: tuple[str, ...] = ("SendEmail",)


def _sid(grant: TableGrant) -> str:
    words = [*grant.table.split("_"), *(grant.index.split("-") if grant.index else [])]
    return "".join(word.capitalize() for word in words)


def table_arn(table_name: str, index: str | None = None) -> dict[str, str]:
    arn = f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{table_name}"
    return {"Fn::Sub": f"{arn}/index/{index}" if index else arn}


def data_statements(table_prefix: str, mail_domain: str | None = None) -> list[dict[str, Any]]:
    """Statements for data: DynamoDB by table and index, chat files in the data bucket, and
    with a mail domain its raw inbound mail and sending from its identity; and posting to
    websocket connections."""
    statements = [
        {
            "Sid": _sid(grant),
            "Effect": "Allow",
            "Action": [f"dynamodb:{action}" for action in grant.actions],
            "Resource": [table_arn(f"{table_prefix}-{grant.table}", grant.index)],
        }
        for grant in DATA_GRANTS
    ]
    statements.append({
        "Sid": "ChatFiles",
        "Effect": "Allow",
        "Action": [f"s3:{action}" for action in FILE_ACTIONS],
        "Resource": [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{DataBucket}}/{FILES_PREFIX}*"}],
    })
    if mail_domain:
        statements.append({
            "Sid": "InboundMail",
            "Effect": "Allow",
            "Action": [f"s3:{action}" for action in INBOUND_ACTIONS],
            "Resource": [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::${{DataBucket}}/{INBOUND_PREFIX}*"}],
        })
        statements.append({
            "Sid": "OutboundEmail",
            "Effect": "Allow",
            "Action": [f"ses:{action}" for action in MAIL_ACTIONS],
            "Resource": [{"Fn::Sub": f"arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:identity/{mail_domain}"}],
        })
    statements.append({
        "Sid": "WebsocketConnections",
        "Effect": "Allow",
        "Action": ["execute-api:ManageConnections"],
        "Resource": [
            {"Fn::Sub": f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:"
                        f"${{WebsocketAPI}}/{WS_STAGE}/{method}/@connections/*"}
            for method in CONNECTION_METHODS
        ],
    })
    return statements


def log_statement(function_prefix: str) -> dict[str, Any]:
    """Writing to the functions' own log groups (created by the template, so no CreateLogGroup)."""
    return {
        "Sid": "OwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [{"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                                 f"log-group:/aws/lambda/{function_prefix}*:*"}],
    }


def policy_document(table_prefix: str, function_prefix: str, mail_domain: str | None = None) -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [*data_statements(table_prefix, mail_domain), log_statement(function_prefix)]}


def mail_from(inbound_domain: str) -> str:
    """Parley's emails come from the support address of the inbound domain (its SES identity),
    so a reply to one reaches Parley."""
    return f"support@{inbound_domain}"
