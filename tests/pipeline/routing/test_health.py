"""Connector health in the database (SQLite and PostgreSQL): the threshold and the
cool-down computed by the database, two boards (two workers) that agree, and writes
only on transitions and counter flushes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.pipeline.routing import health
from dovecote.pipeline.routing.health import Board
from dovecote.settings import Settings
from dovecote.storage.db import create_engine


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    made = create_engine(settings.database_url)
    yield made
    await made.dispose()


async def test_a_connector_goes_down_at_the_threshold_and_is_up_after_its_cool_down(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        first = await health.failed(conn, "up1", "refused", threshold=2, cooldown=10, now=100)
        second = await health.failed(conn, "up1", "timed out", threshold=2, cooldown=10, now=101)
        rows = await health.read(conn)

    assert (first.failures, first.up(now=100)) == (1, True)
    assert (second.failures, second.down_until, second.downs) == (0, 111.0, 1)
    assert not second.up(now=110) and second.up(now=111)
    assert rows["up1"].last_error == "timed out" and rows["up1"].last_failure_at == 101


async def test_a_good_hand_over_clears_the_failures(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await health.failed(conn, "up1", "refused", threshold=3, cooldown=10, now=100)
        await health.succeeded(conn, "up1")
        after = await health.failed(conn, "up1", "refused", threshold=3, cooldown=10, now=102)

    assert after.failures == 1 and after.up(now=102)


async def test_counts_are_added_per_connector_and_outcome(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await health.add_counts(conn, {"a": {"sent": 3, "deferred": 1}, "b": {"failed": 2}})
        await health.add_counts(conn, {"a": {"sent": 4}})
        rows = await health.read(conn)

    assert rows["a"].counts == {"sent": 7, "delivered": 0, "failed": 0, "expired": 0, "deferred": 1}
    assert rows["b"].counts["failed"] == 2
    assert rows["a"].up()  # counting is not judging


async def test_a_connector_one_board_puts_down_is_down_for_the_other(engine: AsyncEngine) -> None:
    one, other = (Board(engine, threshold=2, cooldown=30, refresh=0) for _ in range(2))
    await other.refresh()
    assert other.of("up1").up()

    assert not await one.failed("up1", "refused")
    assert await one.failed("up1", "refused")  # this one put it down
    await other.refresh()

    assert not other.of("up1").up()
    assert other.of("up1").down_until >= time.time() + 29


async def test_failures_of_two_boards_at_once_add_up(engine: AsyncEngine) -> None:
    one, other = (Board(engine, threshold=4, cooldown=30, refresh=0) for _ in range(2))
    downs = await asyncio.gather(*(board.failed("up1", "refused") for board in (one, other) * 2))

    assert downs.count(True) == 1  # four failures, one cool-down
    await one.refresh()
    assert one.of("up1").downs == 1 and not one.of("up1").up()


async def test_successes_write_only_when_there_are_failures_to_clear(engine: AsyncEngine) -> None:
    board = Board(engine, threshold=3, cooldown=30, refresh=3600)
    await board.refresh()
    for _ in range(100):
        await board.succeeded("up1")
        board.count("up1", "sent", 10)
    assert board.writes == 0  # a healthy connector costs no write per hand-over

    await board.failed("up1", "refused")
    await board.succeeded("up1")
    await board.succeeded("up1")
    assert board.writes == 2  # the failure, and the one success that cleared it

    await board.refresh(force=True)  # flushes the counters in one statement
    assert board.writes == 3
    assert board.of("up1").counts["sent"] == 1000 and board.of("up1").failures == 0


async def test_a_board_reads_at_most_once_per_refresh_interval(engine: AsyncEngine) -> None:
    watcher = Board(engine, threshold=1, cooldown=30, refresh=3600)
    await watcher.refresh()
    await Board(engine, threshold=1, cooldown=30).failed("up1", "refused")

    await watcher.refresh()  # within the interval: the cached view stands
    assert watcher.of("up1").up()
    await watcher.refresh(force=True)
    assert not watcher.of("up1").up()


async def test_a_database_error_never_escapes_into_a_hand_over(tmp_path: Path) -> None:
    # A path in a directory that does not exist: every statement fails to connect.
    broken = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    board = Board(broken, threshold=1, cooldown=30, refresh=0)
    try:
        assert await board.failed("up1", "refused") is False
        board.count("up1", "sent", 5)
        await board.refresh()
        await board.flush()
    finally:
        await broken.dispose()

    assert board.of("up1").up() and board.writes == 0
    assert board.pending == {"up1": {"sent": 5}}  # kept for the next flush, not lost
