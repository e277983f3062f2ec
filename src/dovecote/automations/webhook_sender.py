"""The worker side of webhooks: claim due deliveries, POST them, record each attempt.

Each claimed delivery is POSTed in its own task (up to `concurrency` at once), so a
receiver that answers slowly holds one slot for at most the 10 s timeout and never the
others; finished attempts are written back in one transaction per pass. The periodic
job (`job`, in `dovecote.wiring.JOBS`) only starts passes and returns, so the worker
loop (and message dispatch) never waits on a receiver.

Rules whose endpoint keeps failing are paused: after `settings.webhook_pause_after`
dead-lettered deliveries in a row the rule is disabled with the reason; updating it with
`enabled: 1` resumes it. Any delivered webhook resets the count.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.automations import secrets
from dovecote.core.sealing import Sealer
from dovecote.pipeline import webhook_queue as queue
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.webhook_queue import Attempt, Delivery
from dovecote.settings import Settings
from dovecote.storage.tables import automation_actions
from dovecote.storage.tables import automation_rules as rules

log = logging.getLogger("dovecote.webhooks")
# Finished deliveries (delivered or dead) are kept this long for the delivery log and
# replays, then purged by `retention_job`.
KEEP_DAYS = 30
LEASE = 60.0  # longer than the 10 s attempt timeout by far
POOL_SIZE = 8  # connections per HTTP client


@dataclass(frozen=True, slots=True)
class _Done:
    delivery: Delivery
    attempt: Attempt
    at: float


class WebhookSender:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        concurrency: int = 200,
        timeout: float = queue.TIMEOUT,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.concurrency = concurrency
        self.timeout = timeout
        self.owner = f"webhooks-{os.getpid()}-{id(self):x}"
        self.seal = Sealer.from_keys(settings.secret_key, settings.secret_key_previous)
        self._clients: list[httpx.AsyncClient] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._done: list[_Done] = []

    def client_for(self, delivery: Delivery) -> httpx.AsyncClient:
        # Several small connection pools instead of one big one: httpcore walks every
        # connection of its pool on each request, which made one pool of 200 cost more
        # CPU than the HTTP itself (measured with bench/webhooks.py).
        if not self._clients:
            shards = max(1, -(-self.concurrency // POOL_SIZE))
            self._clients = [queue.client(limit=POOL_SIZE) for _ in range(shards)]
        return self._clients[delivery.id % len(self._clients)]

    async def start_pass(self) -> int:
        """Write finished attempts, claim what free slots allow, start POSTing; returns
        how many deliveries were started."""
        await self.flush()
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        now = self.clock()
        async with self.engine.begin() as conn:
            claimed = await queue.claim(conn, owner=self.owner, now=now, lease=LEASE, limit=free)
            if not claimed:
                return 0
            accounts = sorted({d.account_id for d in claimed})
            keys = await secrets.in_use(conn, accounts, now, self.seal)
        for delivery in claimed:
            task = asyncio.create_task(self._send(delivery, keys[delivery.account_id]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def _send(self, delivery: Delivery, signing: list[str]) -> None:
        if not signing:  # `secrets.Unreadable`: never send a delivery unsigned
            error = "the account's webhook secret is unreadable: rotate it"
            self._done.append(_Done(delivery, Attempt(None, error, 0), self.clock()))
            return
        try:
            attempt = await queue.post(
                self.client_for(delivery),
                delivery,
                signing,
                allow_private=self.settings.fetch_allow_private,
                # The signed timestamp is always the wall clock: receivers check it against
                # theirs. `self.clock` (movable in tests) only decides what is due.
                now=time.time(),
                timeout=self.timeout,
            )
        except Exception as exc:  # a bug, not the receiver: still counted, so it ends
            log.exception("webhook delivery %s failed unexpectedly", delivery.id)
            attempt = Attempt(None, f"internal error: {type(exc).__name__}", 0)
        self._done.append(_Done(delivery, attempt, self.clock()))

    async def flush(self) -> int:
        done, self._done = self._done, []
        if not done:
            return 0
        async with self.engine.begin() as conn:
            # Every outcome in one executemany; then the rules' failure counts.
            statuses = await queue.finish_many(
                conn, [(d.delivery, d.attempt, d.at) for d in done], owner=self.owner
            )
            healthy = {
                d.delivery.rule_id
                for d, s in zip(done, statuses, strict=True)
                if s == queue.DELIVERED
            }
            if healthy:
                await conn.execute(
                    rules.update()
                    .where(rules.c.id.in_(sorted(healthy)), rules.c.failures != 0)
                    .values(failures=0)
                )
            for item, status in zip(done, statuses, strict=True):
                if status == queue.DEAD:
                    await self._count_failure(conn, item)
        return len(done)

    async def _count_failure(self, conn: AsyncConnection, item: _Done) -> None:
        threshold = self.settings.webhook_pause_after
        result = await conn.execute(
            rules.update()
            .where(rules.c.id == item.delivery.rule_id)
            .values(failures=rules.c.failures + 1)
            .returning(rules.c.failures, rules.c.enabled)
        )
        row = result.mappings().one_or_none()
        if row is None or not row["enabled"] or int(row["failures"]) < threshold:
            return
        last = item.attempt.error or f"HTTP {item.attempt.status}"
        reason = (
            f"Paused after {row['failures']} webhook deliveries in a row were dead-lettered "
            f"(last: {last}). Update the rule with enabled=1 to resume it."
        )
        await conn.execute(
            rules.update()
            .where(rules.c.id == item.delivery.rule_id)
            .values(enabled=False, paused_reason=reason[:2000])
        )
        log.warning("rule %s paused: %s", item.delivery.rule_id, reason)

    async def drain(self) -> int:
        """Run passes until nothing is due and nothing is in flight (tests, benchmarks);
        returns how many attempts were made."""
        made = 0
        while True:
            started = await self.start_pass()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            made += await self.flush()
            if not started and not self._tasks:
                return made

    async def close(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.flush()
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`)."""
    holder: dict[str, WebhookSender] = {}

    async def run(context: JobContext) -> int:
        sender = holder.get("sender")
        if sender is None:
            sender = holder["sender"] = WebhookSender(context.engine, context.settings)
        return await sender.start_pass()

    async def close() -> None:
        sender = holder.pop("sender", None)
        if sender is not None:
            await sender.close()

    return PeriodicJob(
        name="webhooks", interval=settings.worker_poll_interval, run=run, close=close
    )


def retention_job(settings: Settings) -> PeriodicJob:
    """Purge deliveries finished, and actions done, more than `KEEP_DAYS` ago (hourly,
    idempotent)."""

    async def run(context: JobContext) -> int:
        before = time.time() - KEEP_DAYS * 86400
        removed = 0
        while True:
            async with context.engine.begin() as conn:
                count = await queue.purge(conn, before=before)
            removed += count
            if count < 5000:
                break
        async with context.engine.begin() as conn:
            result = await conn.execute(
                automation_actions.delete().where(
                    automation_actions.c.status != "pending",
                    automation_actions.c.created_at < before,
                )
            )
        return removed + int(result.rowcount)

    return PeriodicJob(name="webhook-retention", interval=3600.0, run=run)
