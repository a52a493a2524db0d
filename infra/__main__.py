"""`python -m infra deploy|destroy|package`: Parley in a shop's own AWS account.

    python -m infra deploy --stage prod --region eu-west-1 --operator-email me@shop.example \
        --shop-origin https://shop.example [--domain support.shop.example] [--inbound-domain mail.shop.example]
    python -m infra deploy ... --dry-run         # prints the plan, changes nothing
    python -m infra destroy --stage prod --region eu-west-1 [--keep-data]
    python -m infra package OUTDIR [--stage prod --region eu-west-1]   # no credentials needed

The local stack is `python -m infra.local` (README: `python3 dev.py run`).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from botocore.exceptions import ClientError

from infra.cloud.aws import Aws, DeployError
from infra.cloud.build import BuildError
from infra.cloud.template import OptionError, Options


def _say(line: str) -> None:
    print(line, flush=True)


def _stage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", default="prod", help="stage name (default prod)")
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION or us-east-1)")
    parser.add_argument("--domain", help="serve console and API at this domain (ACM certificate, DNS)")
    parser.add_argument("--inbound-domain", help="receive replies at this mail domain through SES")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    deploy = commands.add_parser("deploy", help="create or update a stage")
    _stage_arguments(deploy)
    deploy.add_argument("--operator-email", help="the first operator's email (needed on the first deploy)")
    deploy.add_argument("--operator-name", default="Operator")
    deploy.add_argument("--reset-password", action="store_true", help="give that operator a new password")
    deploy.add_argument("--site-id", default="shop")
    deploy.add_argument("--site-name", default="Our shop")
    deploy.add_argument("--shop-origin", action="append", dest="shop_origins",
                        help="an origin the widget may run on, e.g. https://shop.example (repeatable; "
                             "replaces the site's list)")
    deploy.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    destroy = commands.add_parser("destroy", help="remove a stage")
    _stage_arguments(destroy)
    destroy.add_argument("--keep-data", action="store_true", help="keep tables, data bucket and secret")
    package = commands.add_parser("package", help="write the template and deployment.zip")
    package.add_argument("outdir", type=Path)
    _stage_arguments(package)
    for sub in (deploy, destroy):
        sub.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # moto, for tests
        sub.add_argument("--poll-seconds", type=float, default=3.0, help=argparse.SUPPRESS)
    return parser


def _options(args: argparse.Namespace) -> Options:
    region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    domain = args.domain.lower() if args.domain else None
    inbound = args.inbound_domain.lower() if args.inbound_domain else None
    return Options(stage=args.stage, region=region, domain=domain, inbound_domain=inbound)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        from infra.cloud import deploy, destroy, report

        options = _options(args)
        if args.command == "package":
            deploy.package(options, args.outdir, _say)
            return 0
        aws = Aws(options.region, args.endpoint_url, args.poll_seconds)
        if args.command == "destroy":
            destroy.destroy(options, aws, args.keep_data, _say)
            return 0
        request = deploy.Deployment(
            options=options, operator_email=args.operator_email, operator_name=args.operator_name,
            site_id=args.site_id, site_name=args.site_name,
            shop_origins=tuple(args.shop_origins) if args.shop_origins else None,
            reset_password=args.reset_password, dry_run=args.dry_run)
        summary = deploy.deploy(request, aws, _say)
        if summary is not None:
            for line in report.summary_lines(options, request.operator_email, request.site_id, summary):
                _say(line)
        return 0
    except (DeployError, OptionError, BuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:
        print(f"error: AWS refused a request: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
