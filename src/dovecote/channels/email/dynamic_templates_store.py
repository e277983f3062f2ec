"""Queries for SendGrid's templates (`dynamic_templates`) and their versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.storage.tables import dynamic_template_versions as versions
from dovecote.storage.tables import dynamic_templates as templates


async def insert_template(conn: AsyncConnection, values: dict[str, Any]) -> sa.RowMapping:
    row: sa.RowMapping = (
        (await conn.execute(templates.insert().values(**values).returning(templates)))
        .mappings()
        .one()
    )
    return row


async def count_templates(conn: AsyncConnection, account_id: int) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(templates)
        .where(templates.c.account_id == account_id)
    )
    return int((await conn.execute(query)).scalar_one())


async def get_template(
    conn: AsyncConnection, account_id: int, template_id: str, *, lock: bool = False
) -> sa.RowMapping | None:
    query = sa.select(templates).where(
        templates.c.account_id == account_id, templates.c.id == template_id
    )
    if lock:
        query = query.with_for_update()
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def list_templates(
    conn: AsyncConnection,
    account_id: int,
    generations: Sequence[str],
    *,
    after: tuple[int, str] | None,
    limit: int | None,
) -> tuple[list[sa.RowMapping], int]:
    """A page of the account's templates of `generations`, oldest first, after the
    (created_at, id) key `after`; and how many there are in all."""
    owned = [templates.c.account_id == account_id, templates.c.generation.in_(generations)]
    total = int(
        (
            await conn.execute(sa.select(sa.func.count()).select_from(templates).where(*owned))
        ).scalar_one()
    )
    query = sa.select(templates).where(*owned)
    if after is not None:
        query = query.where(sa.tuple_(templates.c.created_at, templates.c.id) > after)
    query = query.order_by(templates.c.created_at, templates.c.id)
    if limit is not None:
        query = query.limit(limit)
    return list((await conn.execute(query)).mappings().all()), total


async def update_template(
    conn: AsyncConnection, account_id: int, template_id: str, values: dict[str, Any]
) -> sa.RowMapping | None:
    query = (
        templates.update()
        .where(templates.c.account_id == account_id, templates.c.id == template_id)
        .values(**values)
        .returning(templates)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def delete_template(conn: AsyncConnection, account_id: int, template_id: str) -> bool:
    await conn.execute(
        versions.delete().where(
            versions.c.account_id == account_id, versions.c.template_id == template_id
        )
    )
    deleted = await conn.execute(
        templates.delete().where(
            templates.c.account_id == account_id, templates.c.id == template_id
        )
    )
    return int(deleted.rowcount) == 1


async def versions_of(
    conn: AsyncConnection, account_id: int, template_ids: Sequence[str]
) -> list[sa.RowMapping]:
    if not template_ids:
        return []
    query = (
        sa.select(versions)
        .where(versions.c.account_id == account_id, versions.c.template_id.in_(template_ids))
        .order_by(versions.c.created_at, versions.c.id)
    )
    return list((await conn.execute(query)).mappings().all())


async def count_versions(conn: AsyncConnection, account_id: int, template_id: str) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(versions)
        .where(versions.c.account_id == account_id, versions.c.template_id == template_id)
    )
    return int((await conn.execute(query)).scalar_one())


async def get_version(
    conn: AsyncConnection, account_id: int, template_id: str, version_id: str
) -> sa.RowMapping | None:
    query = sa.select(versions).where(
        versions.c.account_id == account_id,
        versions.c.template_id == template_id,
        versions.c.id == version_id,
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def active_version(
    conn: AsyncConnection, account_id: int, template_id: str
) -> sa.RowMapping | None:
    query = sa.select(versions).where(
        versions.c.account_id == account_id,
        versions.c.template_id == template_id,
        versions.c.active == sa.true(),
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().first()
    return row


async def insert_version(conn: AsyncConnection, values: dict[str, Any]) -> sa.RowMapping:
    row: sa.RowMapping = (
        (await conn.execute(versions.insert().values(**values).returning(versions)))
        .mappings()
        .one()
    )
    return row


async def update_version(
    conn: AsyncConnection,
    account_id: int,
    template_id: str,
    version_id: str,
    values: dict[str, Any],
) -> sa.RowMapping | None:
    query = (
        versions.update()
        .where(
            versions.c.account_id == account_id,
            versions.c.template_id == template_id,
            versions.c.id == version_id,
        )
        .values(**values)
        .returning(versions)
    )
    row: sa.RowMapping | None = (await conn.execute(query)).mappings().one_or_none()
    return row


async def deactivate_others(
    conn: AsyncConnection, account_id: int, template_id: str, keep: str
) -> None:
    await conn.execute(
        versions.update()
        .where(
            versions.c.account_id == account_id,
            versions.c.template_id == template_id,
            versions.c.id != keep,
            versions.c.active == sa.true(),
        )
        .values(active=False)
    )


async def delete_version(
    conn: AsyncConnection, account_id: int, template_id: str, version_id: str
) -> bool:
    deleted = await conn.execute(
        versions.delete().where(
            versions.c.account_id == account_id,
            versions.c.template_id == template_id,
            versions.c.id == version_id,
        )
    )
    return int(deleted.rowcount) == 1
