"""SendGrid Email Activity: search (`GET /v3/messages`), one message
(`GET /v3/messages/{msg_id}`) and CSV downloads (`/v3/messages/download...`).

Errors leave as `{"errors": [{"field", "message"}]}` (apis/errors.py picks the format by
path). These endpoints have their own rate limits, SendGrid's documented ones by
default, on top of the account-wide limit every request passes.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from limits import parse
from starlette.background import BackgroundTask

from dovecote.activity import download as activity_download
from dovecote.activity import search as activity
from dovecote.apis.deps import Conn, CurrentPrincipal, RuntimeDep, link_base
from dovecote.apis.sendgrid.schemas import AbbreviatedMessage, Message, MessageList
from dovecote.core.errors import NotFound, RateLimited
from dovecote.core.models import Principal
from dovecote.files.store import FileMissing
from dovecote.runtime import Runtime

router = APIRouter(tags=["SendGrid Email Activity"])

TOO_MANY = "too many requests"  # SendGrid's exact message


async def _count(
    principal: Principal, runtime: Runtime, response: Response, setting: str, namespace: str
) -> None:
    """Count one request against the account's `setting` limit; 429 past it."""
    item = parse(getattr(runtime.settings, setting))
    key = str(principal.account.id)
    allowed = await runtime.limiter.hit(item, namespace, key)
    stats = await runtime.limiter.get_window_stats(item, namespace, key)
    if not allowed:
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(TOO_MANY, retry_after=retry_after)
    # SendGrid's rate-limit headers, so that clients can pace themselves.
    response.headers["X-RateLimit-Limit"] = str(item.amount)
    response.headers["X-RateLimit-Remaining"] = str(stats.remaining)
    response.headers["X-RateLimit-Reset"] = str(math.ceil(stats.reset_time))


def _limit(setting: str, namespace: str) -> Callable[..., Awaitable[Principal]]:
    async def dependency(
        principal: CurrentPrincipal, runtime: RuntimeDep, response: Response
    ) -> Principal:
        await _count(principal, runtime, response, setting, namespace)
        return principal

    return dependency


ActivityPrincipal = Annotated[Principal, Depends(_limit("activity_rate_limit", "email_activity"))]


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


# GET /messages/download is no route of its own: it reads as message id "download" (404).
@router.post("/messages/download", summary="Request CSV", status_code=202)
async def request_csv(
    principal: CurrentPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
    response: Response,
    query: Annotated[str | None, Query(description="Email Activity query")] = None,
) -> dict[str, str]:
    # Refusals first (403 without the extended option, 400 for a bad query): only an
    # accepted request counts against SendGrid's one download per 12 hours.
    activity_download.check_request(principal, runtime.settings, query)
    await _count(
        principal, runtime, response, "activity_download_rate_limit", "email_activity_download"
    )
    # Queued in this request's transaction; a worker writes the CSV and mails the link.
    export = await activity_download.request_download(conn, principal, runtime.settings, query)
    return {
        "status": "pending",
        "message": activity_download.pending_message(export),
        # Not in SendGrid's response (it mails the id only); handy without a mailbox.
        "download_uuid": export.uuid,
    }


@router.get("/messages/download/{download_uuid}", summary="Download CSV")
async def download_csv(
    download_uuid: str,
    request: Request,
    principal: ActivityPrincipal,
    conn: Conn,
    runtime: RuntimeDep,
) -> dict[str, str]:
    base = link_base(request, runtime.settings)
    url = await activity_download.get_download(
        conn, principal, runtime.settings, download_uuid, base
    )
    return {"presigned_url": url, "csv": url}


@router.get("/messages/download/{download_uuid}/csv", summary="The CSV a presigned URL grants")
async def presigned_csv(
    download_uuid: str,
    conn: Conn,
    runtime: RuntimeDep,
    expires: Annotated[str, Query()] = "",
    signature: Annotated[str, Query()] = "",
) -> FileResponse:
    store, key = await activity_download.open_csv(
        conn, runtime.settings, runtime.files, download_uuid, expires, signature
    )
    # Streamed from a local path: the file itself for the local store, a temporary
    # download for S3 (an export can be tens of MB, never held in memory), released by
    # the response's background task once the last byte is sent.
    held = contextlib.AsyncExitStack()
    try:
        path = await held.enter_async_context(store.local_copy(key))
    except FileMissing:
        await held.aclose()
        raise NotFound(activity_download.INVALID) from None
    return FileResponse(
        path,
        media_type="application/gzip",
        filename=f"{download_uuid}.csv.gz",
        background=BackgroundTask(held.aclose),
    )
