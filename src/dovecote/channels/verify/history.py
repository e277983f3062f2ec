"""EmailVerify's event history: what happened to each code, readable by the account.

Every `sent`, `approved`, `failed_attempt`, `expired` and `max_attempts_reached` is an
event of channel `verify` in the log. As Twilio Verify lists a service's attempts, an
account lists its own (a subaccount without `access_reporting`: its own), newest first,
filtered by address and event, a page at a time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput
from dovecote.core.models import Principal
from dovecote.pipeline.scope import scope_for, visible
from dovecote.storage.listing import Fields, ListQuery, Page, paginate
from dovecote.storage.tables import events

CHANNEL: Final = "verify"
EVENT_TYPES: Final = frozenset(
    {"sent", "approved", "failed_attempt", "expired", "max_attempts_reached"}
)
MAX_LIMIT: Final = 100


@dataclass(frozen=True, slots=True)
class VerifyEvent:
    event: str
    email: str
    message_id: str
    occurred_at: float
    attempt: int | None
    attempts_left: int | None
    user_id: int


def event_from_row(row: Mapping[str, Any]) -> VerifyEvent:
    data: Mapping[str, Any] = row["data"] or {}
    return VerifyEvent(
        event=row["type"],
        email=str(data.get("email", "")),
        message_id=row["message_id"],
        occurred_at=float(row["occurred_at"]),
        attempt=data.get("attempt"),
        attempts_left=data.get("attempts_left"),
        user_id=int(row["user_id"]),
    )


async def list_events(
    conn: AsyncConnection,
    principal: Principal,
    *,
    email: str | None = None,
    event: str | None = None,
    page: int = 1,
    limit: int = 50,
) -> Page:
    """The caller's EmailVerify events, newest first. Raises InvalidInput for an unknown
    event name or a page/limit out of range."""
    if event is not None and event not in EVENT_TYPES:
        known = ", ".join(sorted(EVENT_TYPES))
        raise InvalidInput(f"event must be one of {known}.", field="event")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    if not 1 <= page <= 1_000_000:
        raise InvalidInput("page must be between 1 and 1000000.", field="page")
    query = sa.select(events).where(
        *visible(events, scope_for(principal)), events.c.channel == CHANNEL
    )
    if event is not None:
        query = query.where(events.c.type == event)
    if email:
        # Codes are filed under the lower-cased address (`codes.address_key`).
        query = query.where(events.c.data["email"].as_string() == email.strip().lower())
    params = ListQuery(page=page, limit=limit)
    return await paginate(
        conn, query, params, Fields(columns={}), [events.c.occurred_at.desc(), events.c.id.desc()]
    )
