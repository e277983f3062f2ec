"""What one running Dovecote process holds: settings, the database, shared services.

Built by `dovecote.wiring.build_runtime` (from the app factory or the CLI) and passed
down explicitly; nothing here is global. Every field is typed: handlers reach the price
book or the event log by attribute, never by a string key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import RateLimiter, SlidingWindowCounterRateLimiter
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts.credential_cache import CredentialCache
from dovecote.channels.sms.audience import begin_batch
from dovecote.files.store import FileStore
from dovecote.pipeline.changes import Changes
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.metrics import Metrics
from dovecote.pipeline.pricing import PriceBook
from dovecote.pipeline.system_mail import SystemMail
from dovecote.settings import Settings
from dovecote.storage.group_commit import GroupCommit


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    limiter: RateLimiter
    prices: PriceBook
    credentials: CredentialCache
    events: EventLog
    system_mail: SystemMail
    metrics: Metrics
    # Uploads, converted media, sandbox renders: the local directory or a bucket.
    files: FileStore
    # Committed changes of messages, for live pages (the dashboard's server-sent events).
    changes: Changes = field(default_factory=Changes)
    # Reads a request makes before it writes (authentication); `engine` unless set.
    read_engine: AsyncEngine | None = None
    # Single sends share one transaction per tick through this (storage/group_commit.py).
    writer: GroupCommit = field(init=False)

    def __post_init__(self) -> None:
        self.writer = GroupCommit(self.engine, lock_first=begin_batch)

    @property
    def reader(self) -> AsyncEngine:
        return self.read_engine or self.engine

    async def close(self) -> None:
        await self.changes.close()
        await self.writer.close()
        if self.read_engine is not None and self.read_engine is not self.engine:
            await self.read_engine.dispose()
        await self.engine.dispose()


def rate_limiter(settings: Settings) -> RateLimiter:
    storage: Storage
    if settings.redis_url:
        # Shared by every API process, so the limit holds across machines.
        storage = RedisStorage(settings.redis_url.replace("redis://", "async+redis://", 1))
    else:
        storage = MemoryStorage()
    # Sliding-window counters: two counters per key instead of a list of every hit
    # (moving window), and the memory backend's moving window hands each expiry pass to
    # a thread — a thread hop on every request.
    return SlidingWindowCounterRateLimiter(storage)
