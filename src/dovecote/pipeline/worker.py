"""The worker loop: inside `dovecote serve`, or alone as `dovecote worker`.

Stopping is graceful: the loop finishes the batch in hand (its outcomes are written)
and then exits, so SIGTERM never strands claimed rows until their lease expires. The
worker is assembled by `dovecote.wiring.build_worker`: it runs what it is given.

While a full batch's outcomes are being written, the loop already claims and hands over
the next one (`Dispatcher.may_overlap`: PostgreSQL, well inside the lease). One batch at
most is ahead: a batch's outcomes are written only after the previous batch's are, so a
message's events keep their order. Measured in bench/README.md ("Dispatcher on
PostgreSQL"): the same CPU per message, less waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

from dovecote.pipeline.dispatcher import Dispatcher, Handed
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.transports import registry

log = logging.getLogger("dovecote.worker")


class Worker:
    def __init__(
        self, dispatcher: Dispatcher, jobs: Sequence[PeriodicJob], context: JobContext
    ) -> None:
        self.dispatcher = dispatcher
        self.jobs = list(jobs)
        self.context = context
        settings = context.settings
        self.poll_interval = settings.worker_poll_interval
        self.batch_size = settings.worker_batch_size
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_run = {job.name: 0.0 for job in self.jobs}

    async def _maintain(self) -> None:
        loop = asyncio.get_running_loop()
        for job in self.jobs:
            if loop.time() < self._next_run[job.name]:
                continue
            self._next_run[job.name] = loop.time() + job.interval
            try:
                await job.run(self.context)
            except Exception:
                log.exception("periodic job %s failed", job.name)

    async def run(self) -> None:
        await registry.start(self.dispatcher.transports, self.dispatcher.pushed())
        finishing: asyncio.Task[None] | None = None  # the last batch's outcomes, being written
        try:
            while not self._stopping.is_set():
                await self._maintain()
                handed = await self._hand_over()
                if finishing is not None:
                    await finishing
                    finishing = None
                claimed = 0 if handed is None else handed.count
                if handed is not None:
                    if claimed >= self.batch_size and self.dispatcher.may_overlap(handed):
                        finishing = asyncio.create_task(self._finish(handed))
                    else:
                        await self._finish(handed)
                if claimed < self.batch_size:
                    # Idle or partial batch: wait, but wake at once when asked to stop.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self.poll_interval)
        finally:
            if finishing is not None:
                await finishing  # the batch in hand is written before the worker stops
        for job in self.jobs:
            if job.close is not None:
                try:
                    await job.close()
                except Exception:
                    log.exception("periodic job %s did not close cleanly", job.name)
        await self.dispatcher.close()

    async def _hand_over(self) -> Handed | None:
        try:
            return await self.dispatcher.hand_over()
        except Exception:  # the database went away, say; keep the loop alive
            log.exception("dispatcher pass failed")
            return None

    async def _finish(self, handed: Handed) -> None:
        try:
            await self.dispatcher.finish(handed)
        except Exception:
            # Nothing is lost: the rows stay leased to this worker until the lease runs
            # out, then any worker claims them again (as after a crash).
            log.exception("dispatcher pass failed")

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="dovecote-worker")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def run_until_signalled(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        log.info("worker %s started", self.dispatcher.owner)
        await self.run()
