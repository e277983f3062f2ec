"""`storage.db.create_engine`: PostgreSQL's pool is sized by the settings."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.pool import QueuePool

from dovecote.settings import Settings
from dovecote.storage.db import create_engine

POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@POSTGRESQL
async def test_the_pool_keeps_its_size_and_opens_its_overflow_only_while_needed(
    database_url: str,
) -> None:
    settings = Settings(database_url=database_url, database_pool_size=2, database_max_overflow=1)
    engine = create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    try:
        held = [await engine.connect() for _ in range(3)]  # two pooled and the overflow one
        fourth = asyncio.create_task(engine.connect().start())
        await asyncio.sleep(0.3)
        assert not fourth.done()  # past pool and overflow: it waits for a return
        await held.pop().close()
        held.append(await asyncio.wait_for(fourth, 5))
        for conn in held:
            await conn.close()
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        assert pool.checkedin() == 2  # the overflow connection closed on return
    finally:
        await engine.dispose()


@pytest.mark.parametrize("field", ["database_pool_size", "database_max_overflow"])
def test_a_pool_size_below_its_floor_is_refused(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Settings.model_validate({field: -1})
