"""Messages: every channel in one list, live, and one message with its whole story.

Opening Messages takes `access_reporting`, as the API's statistics and usage reports
do: a subaccount without it gets 403 here, by the menu or by a typed URL.
"""

from __future__ import annotations

import json
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email.channel import EMAIL
from dovecote.channels.fax.channel import FAX
from dovecote.channels.mms.channel import MMS
from dovecote.channels.post import history as post_history
from dovecote.channels.post.channel import LETTER, POSTCARD
from dovecote.channels.sms.channel import SMS
from dovecote.channels.voice.channel import VOICE
from dovecote.dashboard import guard, store, web
from dovecote.pipeline import status
from dovecote.pipeline.scope import Scope

router = APIRouter(include_in_schema=False, route_class=guard.PageRoute)

FLAG = "access_reporting"
Allowed = Annotated[web.Viewer, Depends(guard.viewer_with(FLAG))]
CHANNELS = tuple(channel.name for channel in (SMS, EMAIL, MMS, VOICE, FAX, LETTER, POSTCARD))
STATUSES = (
    status.QUEUED,
    status.SENDING,
    status.SENT,
    status.DELIVERED,
    status.FAILED,
    status.EXPIRED,
    status.CANCELLED,
    status.TEST,
    status.RECEIVED,
)

Text = Annotated[str | None, Query(max_length=320)]


def _filter(
    channel: str | None, state: str | None, direction: str | None, q: str | None
) -> store.Filter:
    # Unknown values filter nothing rather than fail: a hand-edited URL shows everything.
    return store.Filter(
        channel=channel if channel in CHANNELS else None,
        status=state if state in STATUSES else None,
        direction=direction if direction in ("in", "out") else None,
        q=q.strip() if q and q.strip() else None,
    )


def _scope(who: web.Viewer) -> Scope:
    return Scope(who.principal.account.id)  # access_reporting: the whole account


@router.get("/messages")
async def messages_page(
    request: Request,
    who: Allowed,
    channel: Text = None,
    status: Text = None,
    direction: Text = None,
    q: Text = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    found = _filter(channel, status, direction, q)
    async with web.runtime_of(request).engine.connect() as conn:
        rows, next_cursor = await store.list_messages(conn, _scope(who), found, after)
    query = request.url.query
    live_query = "&".join(p for p in query.split("&") if p and not p.startswith("after="))
    return web.render(
        request,
        who,
        "messages.html",
        {
            "rows": rows,
            "found": found,
            "channels": CHANNELS,
            "statuses": STATUSES,
            "next_cursor": next_cursor,
            "first_page": store.decode_cursor(after) is None,
            "live_url": "/messages/live" + (f"?{live_query}" if live_query else ""),
            "next_query": live_query,
        },
        title="Messages",
    )


@router.get("/messages/live")
async def messages_live(
    request: Request,
    who: Allowed,
    channel: Text = None,
    status: Text = None,
    direction: Text = None,
    q: Text = None,
) -> Response:
    """Server-sent events: the row of each message that is new or changed, rendered."""
    found = _filter(channel, status, direction, q)
    row_template = web.templates.get_template("_message_row.html")

    async def render_ids(ids: list[str]) -> list[str]:
        async with web.runtime_of(request).engine.connect() as conn:
            rows, _ = await store.list_messages(conn, _scope(who), found, ids=ids)
        # Oldest first, each prepended: the newest ends on top.
        return [row_template.render(row=row, viewer=who) for row in reversed(rows)]

    return web.sse(request, who.principal.account.id, render_ids)


# A letter's proof on its page: its first pages only (each ~100 kB at 100 dpi).
PROOF_PAGES_SHOWN = 10


async def _proof_pages(conn: AsyncConnection, who: web.Viewer, row: sa.RowMapping) -> int:
    """How many proof pages the post sandbox printed for `row` (0: none to show)."""
    if row["status"] not in (status.SENT, status.DELIVERED):
        return 0
    if row["channel"] == POSTCARD.name:
        return post_history.POSTCARD_SIDES
    if row["channel"] != LETTER.name:
        return 0
    item = await post_history.get_item(conn, LETTER.name, who.principal, row["id"])
    return min(int(item["pages"] or 0), PROOF_PAGES_SHOWN)


@router.get("/messages/{message_id}")
async def message_page(request: Request, who: Allowed, message_id: str) -> Response:
    async with web.runtime_of(request).engine.connect() as conn:
        page = await store.get_message(conn, _scope(who), message_id.upper()[:64])
        proof_pages = await _proof_pages(conn, who, page.row) if page is not None else 0
    if page is None:
        return web.render(
            request,
            who,
            "error.html",
            {"message": "No such message."},
            status_code=404,
            title="Not found",
        )
    return web.render(
        request,
        who,
        "message.html",
        {
            "page": page,
            "m": page.row,
            "proof_pages": proof_pages,
            "payload": json.dumps(page.payload, indent=2, sort_keys=True) if page.payload else "",
            "timeline": [
                {
                    **event,
                    "json": json.dumps(event["data"], indent=2, sort_keys=True)
                    if event["data"]
                    else "",
                }
                for event in page.events
            ],
        },
        title=f"Message {page.row['id']}",
    )
