"""The sender of each SMS: default senders and, when the account asks for it, the check
that `from` is one of its own (`dovecote.numbers.senders`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.models import Principal
from dovecote.numbers import senders
from dovecote.pipeline.outbound import Outbound


async def apply(conn: AsyncConnection, principal: Principal, items: Sequence[Outbound]) -> None:
    """Run after composition, before acceptance: a refused sender is INVALID_SENDER_ID,
    like a malformed one, and is neither charged nor queued."""
    options = principal.account.settings
    await senders.settle(
        conn,
        principal.account.id,
        items,
        require_known=bool(options.get(senders.REQUIRE_KNOWN_SENDER, False)),
        has_defaults=bool(options.get(senders.HAS_DEFAULTS, False)),
    )
