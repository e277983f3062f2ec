"""Letter and postcard history and their CSV exports: `pipeline.history`'s reads on the
channel's rows joined to their post rows; each export link is signed with its own
`kind`, so a letter link cannot be replayed for postcards and the reverse."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.channels.post import proof
from dovecote.core.errors import Forbidden, NotFound
from dovecote.core.models import Principal
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline import history
from dovecote.pipeline.exports import Export, clean_filename, open_export, signed_url
from dovecote.pipeline.scope import Scope, scope_for
from dovecote.storage.listing import Fields, ListQuery, Page
from dovecote.storage.tables import messages, post_items

FIELDS = Fields(
    columns={
        **history.HISTORY_FIELDS.columns,
        "address_name": post_items.c.address_name,
        "address_postal_code": post_items.c.address_postal_code,
        "address_country": post_items.c.address_country,
    },
    text=history.HISTORY_FIELDS.text | {"address_name", "address_postal_code"},
)
EXPORT_PATHS = {
    "post": "/v3/post/letters/history/export/download",
    "postcards": "/v3/post/postcards/history/export/download",
}
FILENAMES = {"post": "post-letter-history.csv", "postcards": "postcard-history.csv"}
POSTCARD_SIDES = 2  # a postcard's proof: the front, and the back with the address


def _select(
    channel: str, scope: Scope, date_from: int | None, date_to: int | None
) -> sa.Select[Any]:
    columns = [c for c in post_items.c if c.name not in ("message_id", "account_id", "created_at")]
    return (
        history.history_select(scope, channel, date_from, date_to)
        .add_columns(*columns)
        .join(post_items, post_items.c.message_id == messages.c.id)
    )


async def list_history(
    conn: AsyncConnection,
    channel: str,
    principal: Principal,
    params: ListQuery,
    *,
    date_from: int | None = None,
    date_to: int | None = None,
) -> Page:
    query = _select(channel, scope_for(principal), date_from, date_to)
    return await history.list_history(conn, query, params, FIELDS)


async def get_item(
    conn: AsyncConnection, channel: str, principal: Principal, message_id: str
) -> Mapping[str, Any]:
    query = _select(channel, scope_for(principal), None, None).where(
        messages.c.id == message_id.upper()
    )
    row: Mapping[Any, Any] | None = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"No {'letter' if channel == 'post' else 'postcard'} {message_id}.")
    return row


async def proof_page(
    conn: AsyncConnection,
    channel: str,
    principal: Principal,
    message_id: str,
    number: int,
    files: FileStore,
) -> bytes:
    """Page `number` (from 1) of the proof the sandbox printed, as PNG. A letter's page 1
    carries this recipient's address (stored per message), the others are the document's;
    a postcard's proof is its front and its addressed back, both stored per card."""
    row = await get_item(conn, channel, principal, message_id)
    if channel == "postcards":
        if number > POSTCARD_SIDES:
            raise NotFound(f"Postcard {message_id} has {POSTCARD_SIDES} sides.")
        key = proof.proof_key(row["id"], number)
    elif number > int(row["pages"]):
        raise NotFound(f"Letter {message_id} has {row['pages']} pages.")
    else:
        key = (
            proof.first_page_key(row["id"])
            if number == 1
            else proof.page_key(row["file_key"], number)
        )
    try:
        return await files.get(key)
    except FileMissing:
        raise NotFound(
            f"No proof of page {number} of {message_id}: the sandbox has not printed it yet, "
            "or it was not printed by the sandbox."
        ) from None


def export_link(
    channel: str,
    principal: Principal,
    params: ListQuery,
    *,
    filename: str | None,
    secret: str,
    base_url: str,
    ttl: int,
) -> str:
    history.check_history_query(params, FIELDS)
    fields = {
        "kind": channel,
        "account": str(principal.account.id),
        "user": str(principal.user.id),
        "filename": clean_filename(filename, FILENAMES[channel]),
        "q": ",".join(f"{name}:{value}" for name, value in params.filters),
        "operator": params.operator,
        "order_by": ",".join(f"{name}:{direction}" for name, direction in params.order),
    }
    fields = {name: value for name, value in fields.items() if value}
    return signed_url(
        fields, path=EXPORT_PATHS[channel], secret=secret, base_url=base_url, ttl=ttl, now=None
    )


async def open_post_export(
    conn: AsyncConnection, channel: str, query: Mapping[str, str], *, secret: str
) -> Export:
    if query.get("kind") != channel:
        raise Forbidden("This export link is not valid.")
    return await open_export(conn, query, secret=secret)


async def export_rows(
    engine: AsyncEngine, channel: str, export: Export
) -> AsyncIterator[Mapping[str, Any]]:
    query = _select(channel, export.scope, export.date_from, export.date_to)
    async for row in history.stream_history(engine, query, export.params, FIELDS):
        yield row
