"""`pipeline.leased`: the claiming loop every leased job shares, and the task runner that
keeps it off the worker loop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import FastAPI
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote import wiring
from dovecote.pipeline import leased
from dovecote.pipeline.jobs import JobContext


class Queue:
    """Due rows in memory, claimed one at a time (the database's part is not under test)."""

    def __init__(self, *ids: int) -> None:
        self.due = list(ids)
        self.claims = 0
        self.worked: list[int] = []

    async def any_due(self, conn: AsyncConnection, now: float) -> bool:
        return bool(self.due)

    async def claim(self, conn: AsyncConnection, now: float) -> Sequence[RowMapping]:
        self.claims += 1
        return [{"id": self.due.pop(0)}] if self.due else []  # type: ignore[list-item]

    async def work(self, row: RowMapping) -> None:
        self.worked.append(row["id"])


async def test_drain_works_every_due_row_once_then_stops(app: FastAPI) -> None:
    queue = Queue(1, 2, 3)
    engine = app.state.runtime.engine

    claimed = await leased.drain(engine, any_due=queue.any_due, claim=queue.claim, work=queue.work)

    assert (claimed, queue.worked, queue.claims) == (3, [1, 2, 3], 3)
    # Nothing due: no claim (no write) at all.
    assert (
        await leased.drain(engine, any_due=queue.any_due, claim=queue.claim, work=queue.work) == 0
    )
    assert queue.claims == 3


async def test_drain_once_stops_after_the_first_row(app: FastAPI) -> None:
    queue = Queue(1, 2)
    engine = app.state.runtime.engine

    claimed = await leased.drain(
        engine, any_due=queue.any_due, claim=queue.claim, work=queue.work, once=True
    )

    assert (claimed, queue.worked, queue.due) == (1, [1], [2])


async def test_the_task_runner_runs_one_task_at_a_time_and_close_cancels_it(app: FastAPI) -> None:
    started = asyncio.Event()
    runs: list[str] = []

    async def run(ctx: JobContext) -> int:
        runs.append("started")
        started.set()
        try:
            await asyncio.Event().wait()  # long work
        except asyncio.CancelledError:
            runs.append("cancelled")
            raise
        return 0

    ctx = wiring.job_context(app.state.runtime)
    job = leased.TaskRunner("test-job", run).job(1.0)
    assert job.close is not None

    await job.run(ctx)
    await started.wait()
    await job.run(ctx)  # still running: no second task
    await job.close()

    assert runs == ["started", "cancelled"]
    assert job.name == "test-job"
