"""Apply Alembic migrations from code (used by `dovecote migrate` and `serve`)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@cache
def head() -> str | None:
    """The newest migration (read from the scripts once per process)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current(engine: AsyncEngine) -> str | None:
    """The database's migration, or None when it has none yet (no `alembic_version`)."""
    async with engine.connect() as conn:
        try:
            row = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).first()
        except DBAPIError:
            return None
        return None if row is None else str(row[0])


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    # Already there, the common start: one query instead of Alembic loading and running
    # every migration script (~40 ms, paid by every process start and every test's app).
    if revision == "head" and await current(engine) == head():
        return
    async with engine.connect() as conn:
        try:
            async with conn.begin():
                await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
        finally:
            if conn.dialect.name == "sqlite":
                # env.py turned foreign keys off for table rebuilds; outside the migration
                # transaction the pragma takes effect again, before the pool reuses this.
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()
