"""The per-account suppression list: addresses that hard-bounced or unsubscribed.

A suppressed recipient is `dropped` at accept time — never handed to a transport and
never charged — which is what keeps a sender's reputation from sinking on addresses
already known to fail. Hard bounces are added by the activity sink as they happen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email import store

BOUNCE: Final = "bounce"
UNSUBSCRIBE: Final = "unsubscribe"
SPAM_REPORT: Final = "spamreport"

# The `reason` SendGrid puts on a `dropped` event, per suppression kind.
DROP_REASONS: Final = {
    BOUNCE: "Bounced Address",
    UNSUBSCRIBE: "Unsubscribed Address",
    SPAM_REPORT: "Spam Reporting Address",
}


async def find(conn: AsyncConnection, account_id: int, emails: Iterable[str]) -> dict[str, str]:
    """Lower-cased address → suppression kind, for those of `emails` that are suppressed."""
    return await store.suppressed(conn, account_id, emails)


async def add(conn: AsyncConnection, account_id: int, email: str, reason: str, *, now: int) -> None:
    await store.add_suppressions(
        conn,
        [{"account_id": account_id, "email": email.lower(), "reason": reason, "created_at": now}],
    )


async def remove(conn: AsyncConnection, account_id: int, email: str) -> bool:
    return await store.remove_suppression(conn, account_id, email) > 0


def drop_reason(kind: str) -> str:
    return DROP_REASONS.get(kind, "Suppressed Address")
