"""Blocks: who may not chat (a visitor, an address or range, a country, or a condition)."""
from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.shared.errors import Invalid
from chalicelib.site.checks import ID_PATTERN, checked_object
from chalicelib.site.conditions import Condition, Profile, condition_doc, evaluate, parse_condition

BLOCK_KINDS = ("visitor", "ip", "country", "rule")


MAX_NOTE = 200


_COUNTRY = re.compile(r"^[A-Za-z]{2}$")


@dataclass(frozen=True)
class Block:
    block_id: str
    kind: str  # visitor, ip, country or rule
    value: str | Condition
    note: str = ""
    created_at: int = 0


def check_block(doc: Any, *, block_id: str, created_at: int) -> Block:
    doc = checked_object(doc, "block")
    kind = doc.get("kind")
    if kind not in BLOCK_KINDS:
        raise Invalid(f"kind: must be one of {', '.join(BLOCK_KINDS)}")
    value = _BLOCK_VALUES[kind](doc.get("value"))
    note = doc.get("note") or ""
    if not isinstance(note, str) or len(note.strip()) > MAX_NOTE:
        raise Invalid(f"note: must be a text of at most {MAX_NOTE} characters")
    return Block(block_id, kind, value, note.strip(), created_at)


def _visitor_value(value: Any) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise Invalid("value: must be a visitor id")
    return value


def _ip_value(value: Any) -> str:
    try:
        network = ipaddress.ip_network(value.strip() if isinstance(value, str) else "", strict=False)
    except ValueError:
        raise Invalid("value: must be an IP address or a CIDR range, e.g. 203.0.113.0/24") from None
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _country_value(value: Any) -> str:
    if not isinstance(value, str) or not _COUNTRY.match(value.strip()):
        raise Invalid("value: must be a two-letter country code (ISO 3166 alpha-2)")
    return value.strip().upper()


def _rule_value(value: Any) -> Condition:
    return parse_condition(value, for_segment=True, path="value")


_BLOCK_VALUES: dict[str, Callable[[Any], Any]] = {
    "visitor": _visitor_value, "ip": _ip_value, "country": _country_value, "rule": _rule_value}


def block_doc(b: Block) -> dict[str, Any]:
    value = b.value if isinstance(b.value, str) else condition_doc(b.value)
    return {"block_id": b.block_id, "kind": b.kind, "value": value, "note": b.note, "created_at": b.created_at}


def blocked_by(blocks: Sequence[Block], visitor_id: str, ip: str, profile: Profile) -> Block | None:
    """The first block that applies to this visitor, address and profile."""
    address = _address(ip)
    return next((block for block in blocks if _applies(block, visitor_id, address, profile)), None)


def _applies(block: Block, visitor_id: str, address: Any, profile: Profile) -> bool:
    if block.kind == "visitor":
        return bool(visitor_id) and block.value == visitor_id
    if block.kind == "country":
        return isinstance(profile.country, str) and profile.country.upper() == block.value
    if block.kind == "rule":
        return evaluate(block.value, profile)  # type: ignore[arg-type]
    network = _network(block.value) if block.kind == "ip" and address is not None else None
    return network is not None and network.version == address.version and address in network


def _address(ip: str) -> Any:
    """The client's address (an IPv4-mapped IPv6 address as IPv4), or None."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except (ValueError, AttributeError):
        return None
    return getattr(address, "ipv4_mapped", None) or address


@functools.lru_cache(maxsize=1024)
def _network(value: Any) -> Any:
    try:
        return ipaddress.ip_network(value, strict=False)
    except (ValueError, TypeError):
        return None
