"""Event retention per channel: SMS and EmailVerify events do not grow forever."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote import wiring
from dovecote.pipeline import retention
from dovecote.pipeline.events import Event
from dovecote.settings import Settings
from dovecote.storage.tables import events

NOW = 1_900_000_000.0
DAY = 86_400


async def record(app: FastAPI, *items: tuple[str, float]) -> None:
    runtime = app.state.runtime
    async with runtime.engine.begin() as conn:
        await runtime.events.record(
            conn,
            [
                Event(f"M{n:035d}", 1, 1, channel, "sent", at, {})
                for n, (channel, at) in enumerate(items)
            ],
        )


async def remaining(engine: AsyncEngine) -> list[tuple[str, float]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(events.c.channel, events.c.occurred_at).order_by(events.c.id)
        )
        return [(channel, at) for channel, at in rows]


async def test_each_channel_keeps_its_events_for_its_own_days(app: FastAPI) -> None:
    await record(
        app,
        ("sms", NOW - 11 * DAY),
        ("sms", NOW - 9 * DAY),
        ("verify", NOW - 3 * DAY),
        ("verify", NOW - 1 * DAY),
        ("email", NOW - 100 * DAY),  # Email Activity's own window governs email
    )
    engine = app.state.runtime.engine

    assert await retention.purge_channel(engine, "sms", 10, now=NOW) == 1
    assert await retention.purge_channel(engine, "verify", 2, now=NOW, batch=1) == 1

    assert await remaining(engine) == [
        ("sms", NOW - 9 * DAY),
        ("verify", NOW - 1 * DAY),
        ("email", NOW - 100 * DAY),
    ]


async def test_the_worker_job_applies_the_configured_policy(
    app: FastAPI, settings: Settings
) -> None:
    await record(app, ("sms", 1.0), ("verify", 1.0), ("email", 1.0))
    runtime = app.state.runtime
    configured = settings.model_copy(update={"retention_days": {"sms": 30}})
    job = retention.job(configured)
    assert job.name in {factory(configured).name for factory in wiring.JOBS}

    await job.run(wiring.job_context(runtime, configured))

    assert await remaining(runtime.engine) == [("verify", 1.0), ("email", 1.0)]
