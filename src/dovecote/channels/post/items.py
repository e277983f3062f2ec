"""The post rows beside each queued letter or postcard: its address, options, document."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.post.address import Address
from dovecote.channels.post.compose import Options
from dovecote.pipeline.outbound import Outbound
from dovecote.storage.tables import post_items


async def attach(
    conn: AsyncConnection,
    account_id: int,
    items: Sequence[Outbound],
    *,
    kind: str,
    options: Options,
    pages: int,
    file_key: str,
    back_key: str | None = None,
    now: int,
) -> None:
    rows = []
    for item in items:
        if not item.ok or item.id is None:
            continue
        address: Address = item.extra["address"]
        rows.append(
            {
                "message_id": item.id,
                "account_id": account_id,
                "kind": kind,
                **address.fields(),
                "return_address_id": item.extra["return_address_id"],
                "colour": options.colour,
                "duplex": options.duplex,
                "priority_post": options.priority,
                "pages": pages,
                "file_key": file_key,
                "back_key": back_key,
                "created_at": now,
            }
        )
    if rows:
        await conn.execute(post_items.insert(), rows)
