"""The worker loop: inside `dovecote serve`, or alone as `dovecote worker`.

Stopping is graceful: the loop finishes the batch in hand (its outcomes are written)
and then exits, so SIGTERM never strands claimed rows until their lease expires. The
worker is assembled by `dovecote.wiring.build_worker`: it runs what it is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

from dovecote.pipeline.dispatcher import Dispatcher
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
        while not self._stopping.is_set():
            await self._maintain()
            try:
                claimed = await self.dispatcher.run_once()
            except Exception:  # the database went away, say; keep the loop alive
                log.exception("dispatcher pass failed")
                claimed = 0
            if claimed < self.batch_size:
                # Idle or partial batch: wait, but wake at once when asked to stop.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.poll_interval)
        for job in self.jobs:
            if job.close is not None:
                try:
                    await job.close()
                except Exception:
                    log.exception("periodic job %s did not close cleanly", job.name)
        await self.dispatcher.close()

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
