"""Apply Alembic migrations from code (used by `dovecote migrate` and `serve`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
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
