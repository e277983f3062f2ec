"""Retention: what leaves an account's window is invisible at once and purged later."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from activity_rows import (
    DAY,
    MESSAGES,
    Msg,
    World,
    ev,
    insert_message,
    insert_messages,
    make_world,
    set_extended,
)
from dovecote import wiring
from dovecote.activity import retention
from dovecote.activity import search as activity
from dovecote.settings import Settings
from dovecote.storage import tables

NOW = 1_700_000_000.0
# Old, with categories and custom args: the side tables must be emptied too.
OLD_TAGGED = Msg(
    "m90", "alice@shop.test", "zed@example.com", "Old and tagged", "delivered",
    (ev("processed", 5 * DAY + 5), ev("delivered", 5 * DAY)),
    categories=("news",), unique_args={"customer": "42"},
)  # fmt: skip


async def ids(engine: AsyncEngine, table: sa.Table) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(sa.select(table.c.message_id))).scalars())


async def seed(app: FastAPI, settings: Settings) -> World:
    engine = app.state.runtime.engine
    assert settings.owner_api_key is not None
    world = await make_world(engine, settings.owner_api_key)
    await insert_messages(engine, world, NOW)
    async with engine.begin() as conn:
        await insert_message(conn, world, NOW, OLD_TAGGED)
    return world


def test_the_window_is_two_days_or_sixty_with_the_extended_option() -> None:
    settings = Settings()

    assert retention.history_days({}, settings) == 2
    assert retention.history_days({"email_activity_extended": True}, settings) == 60
    assert retention.history_days({"email_activity_extended": "yes"}, settings) == 2
    assert retention.window_start({}, settings, NOW) == NOW - 2 * DAY


async def test_old_messages_are_invisible_then_purged(app: FastAPI, settings: Settings) -> None:
    engine = app.state.runtime.engine
    world = await seed(app, settings)
    async with engine.connect() as conn:
        found = await activity.search(
            conn, world.owner, settings, query='from_email="alice@shop.test"', limit=100, now=NOW
        )
    assert {"m14", "m15", "m90"}.isdisjoint(m.msg_id for m in found)
    assert {"m14", "m15", "m90"} <= await ids(engine, tables.email_activity)  # still stored

    # Batches of two: the loop must keep deleting until nothing expired is left.
    purged = await retention.purge_expired(engine, settings, now=NOW, batch=2)

    everything = {m.id for m in MESSAGES} | {"m90"}
    assert await ids(engine, tables.email_activity) == everything - {"m14", "m15", "m90"}
    assert "m90" not in await ids(engine, tables.email_activity_categories)
    assert "m90" not in await ids(engine, tables.email_activity_args)
    # m16 keeps its row (its open is recent) but loses its 50-hour-old events.
    async with engine.connect() as conn:
        m16_events = (
            await conn.execute(
                sa.select(tables.events.c.type).where(tables.events.c.message_id == "m16")
            )
        ).scalars()
        assert list(m16_events) == ["open"]
    assert purged == retention.Purged(messages=3, events=8)
    assert await retention.purge_expired(engine, settings, now=NOW) == retention.Purged()


async def test_extended_history_keeps_sixty_days(app: FastAPI, settings: Settings) -> None:
    engine = app.state.runtime.engine
    world = await seed(app, settings)
    await set_extended(engine, world.owner.account.id, True)

    purged = await retention.purge_expired(engine, settings, now=NOW)

    remaining = await ids(engine, tables.email_activity)
    assert {"m14", "m90", "m16"} <= remaining
    assert "m15" not in remaining
    assert purged == retention.Purged(messages=1, events=2)


async def test_the_worker_job_purges_with_the_real_clock(app: FastAPI, settings: Settings) -> None:
    engine = app.state.runtime.engine
    assert settings.owner_api_key is not None
    world = await make_world(engine, settings.owner_api_key)
    # Written on the fixed 2023 clock: by the real one, all of it is long expired.
    async with engine.begin() as conn:
        await insert_message(conn, world, NOW, MESSAGES[0])
    job = retention.job(settings)

    await job.run(wiring.job_context(app.state.runtime, settings))

    assert job.interval == settings.activity_retention_interval
    assert await ids(engine, tables.email_activity) == set()
