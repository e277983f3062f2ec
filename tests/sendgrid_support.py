"""Helpers shared by the SendGrid mail/send and template tests.

Importable as `sendgrid_support` because pyproject's `pythonpath` puts `tests/` on sys.path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from email_support import add_address, owner_principal

SENDER = "news@example.com"
T = TypeVar("T")


def bearer(settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.owner_api_key}"}


async def verified_sender(engine: AsyncEngine, address: str = SENDER, **kw: Any) -> int:
    me = await owner_principal(engine)
    return await add_address(engine, me.account.id, me.user.id, address, **kw)


def with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run `work` on an engine of its own (for the synchronous tests beside a live server:
    a pooled connection must not outlive its event loop)."""

    async def run() -> T:
        engine = create_engine(settings.database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())
