"""What one running Dovecote process holds: settings, the database, shared services.

Built by the app factory (or the CLI) and passed down explicitly; nothing here is global.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import RateLimiter, SlidingWindowCounterRateLimiter
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts.credential_cache import CredentialCache
from dovecote.settings import Settings
from dovecote.storage.db import create_engine


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    limiter: RateLimiter
    services: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        storage: Storage
        if settings.redis_url:
            # Shared by every API process, so the limit holds across machines.
            storage = RedisStorage(settings.redis_url.replace("redis://", "async+redis://", 1))
        else:
            storage = MemoryStorage()
        return cls(
            settings=settings,
            engine=create_engine(settings.database_url),
            # Sliding-window counters: two counters per key instead of a list of every
            # hit (moving window), and the memory backend's moving window hands each
            # expiry pass to a thread — a thread hop on every request.
            limiter=SlidingWindowCounterRateLimiter(storage),
            services={"credentials": CredentialCache(settings.auth_cache_seconds)},
        )

    async def close(self) -> None:
        await self.engine.dispose()
