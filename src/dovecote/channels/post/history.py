"""Letter and postcard history and their CSV exports: a `pipeline.history.ChannelHistory`
each, on the channel's rows joined to their post rows; each export link is signed with
its own `kind`, so a letter link cannot be replayed for postcards and the reverse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.post import proof
from dovecote.core.errors import NotFound
from dovecote.core.models import Principal
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline import history
from dovecote.pipeline.scope import scope_for
from dovecote.storage.listing import Fields
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
POSTCARD_SIDES = 2  # a postcard's proof: the front, and the back with the address
POSTCARD_SIDES = 2  # a postcard's proof: the front, and the back with the address


def _with_items(query: sa.Select[Any]) -> sa.Select[Any]:
    columns = [c for c in post_items.c if c.name not in ("message_id", "account_id", "created_at")]
    return query.add_columns(*columns).join(post_items, post_items.c.message_id == messages.c.id)


# By channel: "post" (letters) and "postcards".
HISTORIES = {
    channel: history.ChannelHistory(
        channel=channel,
        export_path=path,
        default_filename=filename,
        kind=channel,
        fields=FIELDS,
        extend=_with_items,
    )
    for channel, path, filename in (
        ("post", "/v3/post/letters/history/export/download", "post-letter-history.csv"),
        ("postcards", "/v3/post/postcards/history/export/download", "postcard-history.csv"),
    )
}


async def get_item(
    conn: AsyncConnection, channel: str, principal: Principal, message_id: str
) -> Mapping[str, Any]:
    query = (
        HISTORIES[channel]
        .select(scope_for(principal), None, None)
        .where(messages.c.id == message_id.upper())
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
