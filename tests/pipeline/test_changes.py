"""The change hub tells listeners what changed only once the transaction is over."""

from __future__ import annotations

import asyncio
import time

from fastapi import FastAPI

from dovecote.pipeline.events import Event
from dovecote.runtime import Runtime


def _event(message_id: str, account_id: int = 1) -> Event:
    return Event(message_id, account_id, 1, "sms", "queued", time.time())


async def test_a_change_is_told_after_the_commit_not_before(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    async with runtime.changes.listen(1) as queue:
        async with runtime.engine.begin() as conn:
            await runtime.events.record(conn, [_event("A1")])
            await asyncio.sleep(0.05)
            assert queue.empty()  # written, not committed: nobody may read it yet
        change = await asyncio.wait_for(queue.get(), 5)

    assert (change.account_id, change.message_id, change.type) == (1, "A1", "queued")


async def test_listeners_hear_only_their_own_account(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    async with runtime.changes.listen(1) as mine, runtime.changes.listen(2) as theirs:
        async with runtime.engine.begin() as conn:
            await runtime.events.record(conn, [_event("B1", account_id=2)])
        change = await asyncio.wait_for(theirs.get(), 5)

        assert change.message_id == "B1"
        assert mine.empty()


async def test_nothing_is_kept_while_nobody_listens(app: FastAPI) -> None:
    runtime: Runtime = app.state.runtime
    async with runtime.engine.begin() as conn:
        await runtime.events.record(conn, [_event("C1")])
        assert "dovecote.changes" not in conn.info
