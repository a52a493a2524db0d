"""What a deployed stage is called in the account: stack, buckets, secret, tables, rule set."""
from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from infra.cloud import aws as cloud
from infra.cloud.aws import Aws
from infra.cloud.template import Options, table_names

CREATED_RULE_SET_TAG = "parley:created-rule-set"  # on the stack: the rule set Parley made


@dataclass
class Names:
    account: str
    options: Options

    @property
    def artifacts_bucket(self) -> str:
        return f"parley-artifacts-{self.account}-{self.options.region}"

    @property
    def data_bucket(self) -> str:
        return self.options.data_bucket(self.account, self.options.region)

    @property
    def secret_parameter(self) -> str:
        return f"/parley/{self.options.stage}/token-secret"

    @property
    def rule_set(self) -> str:
        return f"parley-{self.options.stage}"


def existing_tables(aws: Aws, options: Options) -> list[str]:
    ddb, found = aws.client("dynamodb"), []
    for name in table_names(options):
        try:
            ddb.describe_table(TableName=name)
            found.append(name)
        except ClientError as exc:
            if cloud.error_code(exc) != "ResourceNotFoundException":
                raise
    return found
