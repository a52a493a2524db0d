"""What the shop owner reads at the end of a deploy."""
from __future__ import annotations

from dataclasses import dataclass, field

from infra.cloud.template import Options


@dataclass
class Summary:
    outputs: dict[str, str] = field(default_factory=dict)
    operator: str = "kept"
    password: str | None = None
    origins: list[str] = field(default_factory=list)
    package_bytes: int = 0
    unpacked_bytes: int = 0


def summary_lines(options: Options, operator_email: str | None, site_id: str, summary: Summary) -> list[str]:
    """What the shop owner needs next: where to sign in, what to embed, which DNS records to add."""
    out = summary.outputs
    lines = [
        "",
        f"Parley is deployed: stage {options.stage}, region {options.region}.",
        f"  Console:  {out.get('ConsoleUrl', '?')}",
    ]
    if summary.password:
        lines.append(f"  Sign in:  {operator_email} / {summary.password}   "
                     f"({summary.operator}; shown only now)")
    else:
        lines.append("  Sign in:  with the first operator's email and password from the first deploy "
                     "(--operator-email EMAIL --reset-password sets a new one)")
    lines += [
        "  Embed on every page of the shop:",
        f'    <script src="{out.get("WidgetUrl", "?")}" data-site="{site_id}" defer></script>',
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
