"""Start-up: several replicas starting at once on a fresh PostgreSQL all come up."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from conftest import OWNER, OWNER_KEY
from dovecote import bootstrap, wiring
from dovecote.settings import Settings
from dovecote.storage.tables import users
from pg_databases import PG_ADMIN_URL, pg_admin


@pytest.fixture
async def empty_postgresql() -> AsyncIterator[str]:
    """A fresh PostgreSQL database with nothing in it: not even Alembic's table."""
    name = f"dovecote_boot_{uuid.uuid4().hex[:12]}"
    await pg_admin(f'CREATE DATABASE "{name}"')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    await pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_three_replicas_starting_at_once_all_come_up_with_one_owner(
    empty_postgresql: str,
) -> None:
    settings = Settings(
        database_url=empty_postgresql,
        owner_username=OWNER,
        owner_api_key=OWNER_KEY,
        worker_enabled=False,
    )
    runtimes = [wiring.build_runtime(settings) for _ in range(3)]
    try:
        # Without the start-up lock they deadlock on Alembic's DDL or die on the owner.
        results = await asyncio.wait_for(
            asyncio.gather(
                *(bootstrap.prepare(runtime) for runtime in runtimes), return_exceptions=True
            ),
            60,
        )
        errors = [result for result in results if isinstance(result, BaseException)]
        assert errors == []
        created = [result for result in results if result is not None]
        assert len(created) == 1  # the first creates the owner; the others find it
        async with runtimes[0].engine.connect() as conn:
            names = (await conn.execute(sa.select(users.c.username))).scalars().all()
        assert sorted(names).count(OWNER) == 1
    finally:
        for runtime in runtimes:
            await runtime.close()
