"""Blocked visitors, addresses and countries: refused at the session and at the socket."""
from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.shared.errors import Blocked
from chalicelib.site import blocks, conditions
from chalicelib.site.siteconfig import SiteSetup
from chalicelib.storage.visitor_store import Visitor
from chalicelib.visitors import tracking

logger = Logger(service="parley", child=True)


def block_of(setup: SiteSetup, visitor: Visitor | None, client: tracking.Client,
             now_ms: int) -> blocks.Block | None:
    """The block that applies to this visitor (or newcomer) from this address, if any."""
    if not setup.blocks:
        return None
    if visitor is not None:
        profile = tracking.profile_of(visitor, now_ms)
        if client.country:
            profile = conditions.Profile(**{**profile.__dict__, "country": client.country})
    else:
        profile = conditions.Profile(now_ms=now_ms, country=client.country or "unknown",
                                language=client.language)
    return blocks.blocked_by(setup.blocks, visitor.visitor_id if visitor else "", client.ip, profile)


def refuse_blocked(setup: SiteSetup, visitor: Visitor | None, client: tracking.Client, now_ms: int) -> None:
    block = block_of(setup, visitor, client, now_ms)
    if block is not None:
        logger.info("visitor blocked", extra={"block_id": block.block_id, "kind": block.kind})
        raise Blocked("this chat is not available")
