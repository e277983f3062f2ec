"""The migrations build exactly the schema that `storage/tables.py` describes, on both backends."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.storage.db import create_engine
from dovecote.storage.migrate import alembic_config, upgrade
from dovecote.storage.tables import metadata


def _differences(sync: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(sync, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _state(sync: sa.Connection) -> tuple[str | None, set[str]]:
    revision = MigrationContext.configure(sync).get_current_revision()
    return revision, set(sa.inspect(sync).get_table_names())


async def _run(engine: AsyncEngine, work: Any) -> Any:
    async with engine.begin() as conn:
        return await conn.run_sync(work)


async def test_the_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    engine = create_engine(database_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        await upgrade(engine)  # the per-test database is a copy of a migrated template
        revision, tables = await _run(engine, _state)
        differences = await _run(engine, _differences)
    finally:
        await engine.dispose()

    assert revision == head
    assert set(metadata.tables) <= tables
    assert differences == []


async def test_the_migrations_go_down_to_nothing_and_up_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await _run(engine, lambda sync: command.downgrade(alembic_config(sync), "base"))
        revision_down, tables_down = await _run(engine, _state)
        await upgrade(engine)
        differences = await _run(engine, _differences)
    finally:
        await engine.dispose()

    assert revision_down is None
    assert tables_down <= {"alembic_version"}
    assert differences == []
