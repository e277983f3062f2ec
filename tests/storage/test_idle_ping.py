"""`storage.db.ping_when_idle`: a pooled PostgreSQL connection that sat idle is pinged
before use, and a dead one is replaced; one in steady use is not pinged (a round trip
per request was 3 % of a send's CPU)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from dovecote.storage.db import create_engine, ping_when_idle

# PostgreSQL only: SQLite has no server to lose and one connection that is never pinged.
POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


async def backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())


async def terminate(url: str, pid: int) -> None:
    admin = create_async_engine(url)
    try:
        async with admin.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


def count_pings(engine: AsyncEngine) -> list[int]:
    pings: list[int] = []
    dialect = engine.dialect
    real = dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return bool(real(dbapi_connection))

    dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


# An engine of one pooled connection, pinged after `after` idle seconds, whose backend was
# terminated while it sat in the pool; and that backend's pid.
KilledBackend = Callable[[float], Awaitable[tuple[AsyncEngine, int]]]


@pytest.fixture
async def killed_backend(database_url: str) -> AsyncIterator[KilledBackend]:
    engines: list[AsyncEngine] = []

    async def make(after: float) -> tuple[AsyncEngine, int]:
        engine = create_async_engine(database_url, pool_size=1, max_overflow=0)
        engines.append(engine)
        ping_when_idle(engine, after=after)
        first = await backend_pid(engine)
        await terminate(database_url, first)
        await asyncio.sleep(0.1)
        return engine, first

    yield make
    for engine in engines:
        await engine.dispose()


@POSTGRESQL
async def test_an_idle_connection_killed_meanwhile_is_replaced_before_use(
    killed_backend: KilledBackend,
) -> None:
    engine, first = await killed_backend(0.05)

    second = await backend_pid(engine)  # the ping failed: a new connection

    assert second != first


@POSTGRESQL
async def test_a_connection_in_steady_use_is_not_pinged(database_url: str) -> None:
    engine = create_engine(database_url)
    pings = count_pings(engine)
    try:
        for _ in range(20):
            await backend_pid(engine)
        assert pings == []
    finally:
        await engine.dispose()


@POSTGRESQL
async def test_without_the_ping_the_dead_connection_fails_its_statement(
    killed_backend: KilledBackend,
) -> None:
    """What the ping is for: the same kill, used again at once, reaches a dead backend."""
    engine, first = await killed_backend(3600)

    with pytest.raises(sa.exc.DBAPIError):
        await backend_pid(engine)
    assert await backend_pid(engine) != first  # and the pool recovers by itself
