"""What one running Dovecote process holds: settings, the database, shared services.

Built by the app factory (or the CLI) and passed down explicitly; nothing here is global.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.domain.credential_cache import CredentialCache
from dovecote.settings import Settings
from dovecote.storage.db import create_engine


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    limiter: MovingWindowRateLimiter
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
            limiter=MovingWindowRateLimiter(storage),
            services={"credentials": CredentialCache(settings.auth_cache_seconds)},
        )

    async def close(self) -> None:
        await self.engine.dispose()
