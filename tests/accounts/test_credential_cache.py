"""`accounts.credential_cache.SharedReads`: concurrent reads of one key share one run."""

from __future__ import annotations

import asyncio

import pytest

from dovecote.accounts.credential_cache import SharedReads


async def test_callers_arriving_while_a_read_is_in_flight_share_it() -> None:
    reads: SharedReads[int] = SharedReads()
    runs = 0
    gate = asyncio.Event()

    async def load() -> int:
        nonlocal runs
        runs += 1
        this_run = runs
        await gate.wait()
        return this_run

    callers = [asyncio.create_task(reads.read("k", load)) for _ in range(5)]
    other = asyncio.create_task(reads.read("other key", load))
    await asyncio.sleep(0.01)
    gate.set()
    assert await asyncio.gather(*callers) == [1] * 5
    assert await other == 2
    assert runs == 2
    # Once it has landed, the next caller reads anew.
    assert await reads.read("k", load) == 3


async def test_a_failed_read_fails_its_callers_and_the_next_one_reads_again() -> None:
    reads: SharedReads[int] = SharedReads()
    gate = asyncio.Event()

    async def failing() -> int:
        await gate.wait()
        raise LookupError("gone")

    async def working() -> int:
        return 7

    callers = [asyncio.create_task(reads.read("k", failing)) for _ in range(3)]
    await asyncio.sleep(0.01)
    gate.set()
    for caller in callers:
        with pytest.raises(LookupError):
            await caller
    assert await reads.read("k", working) == 7


async def test_a_caller_going_away_does_not_cancel_the_read_the_others_wait_on() -> None:
    reads: SharedReads[int] = SharedReads()
    gate = asyncio.Event()

    async def load() -> int:
        await gate.wait()
        return 1

    leaving = asyncio.create_task(reads.read("k", load))
    staying = asyncio.create_task(reads.read("k", load))
    await asyncio.sleep(0.01)
    leaving.cancel()
    await asyncio.sleep(0.01)
    gate.set()
    assert await staying == 1
    assert leaving.cancelled()
