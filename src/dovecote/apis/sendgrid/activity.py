"""SendGrid Email Activity: `GET /v3/messages` and `GET /v3/messages/{msg_id}`.

Errors leave as `{"errors": [{"field", "message"}]}` (apis/errors.py picks the format by
path). These endpoints have their own rate limit, SendGrid's documented one by default,
on top of the account-wide limit every request passes.
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from limits import parse

from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep
from dovecote.apis.sendgrid.schemas import AbbreviatedMessage, Message, MessageList
from dovecote.domain import activity
from dovecote.domain.errors import RateLimited
from dovecote.domain.models import Principal

router = APIRouter(tags=["SendGrid Email Activity"])

TOO_MANY = "too many requests"  # SendGrid's exact message


async def _activity_limit(
    principal: CurrentPrincipal, runtime: RuntimeDep, response: Response
) -> Principal:
    item = parse(runtime.settings.activity_rate_limit)
    key = str(principal.account.id)
    allowed = await runtime.limiter.hit(item, "email_activity", key)
    stats = await runtime.limiter.get_window_stats(item, "email_activity", key)
    if not allowed:
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(TOO_MANY, retry_after=retry_after)
    # SendGrid's rate-limit headers, so that clients can pace themselves.
    response.headers["X-RateLimit-Limit"] = str(item.amount)
    response.headers["X-RateLimit-Remaining"] = str(stats.remaining)
    response.headers["X-RateLimit-Reset"] = str(math.ceil(stats.reset_time))
    return principal


ActivityPrincipal = Annotated[Principal, Depends(_activity_limit)]


@router.get("/messages", summary="Filter all messages", response_model=MessageList)
async def list_messages(
    principal: ActivityPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    query: Annotated[str | None, Query(description="Email Activity query")] = None,
    limit: Annotated[str | None, Query(description="1 to 1000, default 10")] = None,
) -> MessageList:
    found = await activity.search(
        conn, principal, runtime.settings, query=query, limit=activity.parse_limit(limit)
    )
    return MessageList(messages=[AbbreviatedMessage.of(message) for message in found])


@router.get(
    "/messages/{msg_id}",
    summary="Filter messages by message ID",
    # A plain dict, not a Response, so that the rate-limit headers set above are kept;
    # the model documents the shape (events carry only the fields that apply).
    response_model=None,
    responses={200: {"model": Message}},
)
async def get_message(
    msg_id: str, principal: ActivityPrincipal, conn: Conn, runtime: RuntimeDep
) -> dict[str, Any]:
    message = await activity.get_message(conn, principal, runtime.settings, msg_id)
    return Message.of_detail(message).wire()
