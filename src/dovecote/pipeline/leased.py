"""The loop every leased worker job shares (campaign fan-outs, contact imports): claim a
due row with `pipeline/leases.claim`, work it, claim the next, until none is due; and
the periodic hook that runs that loop as a task of its own.

What a job does with a row — its batches, checkpoints and release on failure — is its
own; this module only owns the claiming loop, so every job stops the same way when
nothing is due (one cheap `any_due` read, no write) and hands its task back the same
way when the worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.pipeline.jobs import JobContext, PeriodicJob

log = logging.getLogger("dovecote.leased")

AnyDue = Callable[[AsyncConnection, float], Awaitable[bool]]
Claim = Callable[[AsyncConnection, float], Awaitable[Sequence[RowMapping]]]
Work = Callable[[RowMapping], Awaitable[None]]


async def drain(
    engine: AsyncEngine,
    *,
    any_due: AnyDue,
    claim: Claim,
    work: Work,
    now: float | None = None,
    once: bool = False,
) -> int:
    """Claim (in its own transaction) and work due rows one after another until none is
    due; returns how many were claimed. `any_due` is read first, so an idle poll writes
    nothing; `once`: stop after the first row (tests leave what a crash leaves)."""
    claimed = 0
    while True:
        moment = time.time() if now is None else now
        async with engine.connect() as conn:
            if not await any_due(conn, moment):
                return claimed
        async with engine.begin() as conn:
            rows = await claim(conn, moment)
        if not rows:
            return claimed
        claimed += 1
        await work(rows[0])
        if once:
            return claimed


class TaskRunner:
    """A periodic hook that runs `run` as a task of its own, so long work never holds up
    the worker loop (message dispatch); one at a time per worker process."""

    def __init__(self, name: str, run: Callable[[JobContext], Awaitable[int]]) -> None:
        self._name = name
        self._run = run
        self._task: asyncio.Task[int] | None = None

    async def __call__(self, ctx: JobContext) -> None:
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.create_task(self._guarded(ctx), name=f"dovecote-{self._name}")

    async def _guarded(self, ctx: JobContext) -> int:
        try:
            return await self._run(ctx)
        except Exception:  # the database went away, say: the next look tries again
            log.exception("%s could not run", self._name)
            return 0

    async def close(self) -> None:
        if self._task is None or self._task.done():
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def job(self, interval: float) -> PeriodicJob:
        return PeriodicJob(name=self._name, interval=interval, run=self, close=self.close)
