"""Retention of what the sandboxes render and of SMPP deliveries nobody took: old ones
go, recent ones stay, and neither grows forever."""

from __future__ import annotations

import time
from pathlib import Path

import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote import wiring
from dovecote.channels.fax.sandbox import page_key, tiff_key
from dovecote.channels.post import proof
from dovecote.channels.voice.sandbox import wav_key
from dovecote.files.store import FileStore, open_store
from dovecote.pipeline import retention
from dovecote.settings import Settings
from dovecote.storage.tables import messages, smpp_deliveries, users

NOW = 1_900_000_000
DAY = 86_400
DOCUMENT = "uploads/0123456789abcdef.pdf"  # a letter's document: its pages 2.. are shared


def keys_of(channel: str, message_id: str) -> list[str]:
    """Where each sandbox stores a message's render, through the channels' own functions."""
    if channel == "voice":
        return [wav_key(message_id)]
    if channel == "fax":
        return [tiff_key(message_id), page_key(message_id, 1), page_key(message_id, 2)]
    if channel == "post":
        return [proof.first_page_key(message_id)]
    return [proof.proof_key(message_id, 1), proof.proof_key(message_id, 2)]


async def owner_ids(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        query = sa.select(users.c.account_id, users.c.id).where(users.c.username == "owner")
        account_id, user_id = (await conn.execute(query)).one()
    return int(account_id), int(user_id)


async def rendered(app: FastAPI, files: FileStore, *items: tuple[str, int]) -> list[str]:
    """A message per (channel, acceptance time) with its render stored; their ids."""
    engine = app.state.runtime.engine
    account_id, user_id = await owner_ids(engine)
    ids = []
    async with engine.begin() as conn:
        for n, (channel, created_at) in enumerate(items):
            message_id = f"M{n:035d}"
            await conn.execute(
                messages.insert().values(
                    id=message_id,
                    account_id=account_id,
                    user_id=user_id,
                    channel=channel,
                    direction="out",
                    recipient="+12025550100",
                    parts=2 if channel == "fax" else 1,
                    status="delivered",
                    created_at=created_at,
                    updated_at=created_at,
                )
            )
            ids.append(message_id)
    for message_id, (channel, _at) in zip(ids, items, strict=True):
        for key in keys_of(channel, message_id):
            await files.put(key, b"render", "application/octet-stream")
    return ids


async def kept(files: FileStore, channel: str, message_id: str) -> list[bool]:
    return [await files.exists(key) for key in keys_of(channel, message_id)]


async def test_renders_older_than_the_retention_go_and_recent_ones_stay(
    app: FastAPI, settings: Settings
) -> None:
    files = open_store(settings)
    old = [("voice", NOW - 31 * DAY), ("fax", NOW - 40 * DAY), ("post", NOW - 31 * DAY)]
    old.append(("postcards", NOW - 100 * DAY))
    new = [("voice", NOW - 29 * DAY), ("fax", NOW - DAY), ("post", NOW), ("postcards", NOW)]
    ids = await rendered(app, files, *old, *new)
    await files.put(proof.page_key(DOCUMENT, 2), b"page 2", "image/png")
    engine = app.state.runtime.engine

    assert await retention.purge_renders(engine, files, 30, now=NOW, batch=1) == 4

    for message_id, (channel, _at) in zip(ids[:4], old, strict=True):
        assert await kept(files, channel, message_id) == [False] * len(keys_of(channel, "x"))
    for message_id, (channel, _at) in zip(ids[4:], new, strict=True):
        assert await kept(files, channel, message_id) == [True] * len(keys_of(channel, "x"))
    # The document's own pages are every recipient's; the messages themselves stay.
    assert await files.exists(proof.page_key(DOCUMENT, 2))
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar() == 8


async def test_a_later_run_looks_only_at_the_messages_that_aged_out_since(
    app: FastAPI, settings: Settings
) -> None:
    files = open_store(settings)
    engine = app.state.runtime.engine
    first, second = await rendered(app, files, ("voice", NOW - 31 * DAY), ("voice", NOW - DAY))
    assert await retention.purge_renders(engine, files, 30, now=NOW) == 1

    # Nothing new aged out: the covered message is not visited again (its render, put
    # back here, shows it), however many times the job runs.
    await files.put(wav_key(first), b"render", "audio/wav")
    assert await retention.purge_renders(engine, files, 30, now=NOW + 3600) == 0
    assert await files.exists(wav_key(first))
    assert await files.exists(wav_key(second))

    assert await retention.purge_renders(engine, files, 30, now=NOW + 30 * DAY) == 1
    assert not await files.exists(wav_key(second))


async def deliveries(app: FastAPI, *items: tuple[str, float]) -> None:
    async with app.state.runtime.engine.begin() as conn:
        for state, at in items:
            kind = "mo" if state == "unrouted" else "receipt"
            await conn.execute(
                smpp_deliveries.insert().values(kind=kind, state=state, body="", received_at=at)
            )


async def remaining(engine: AsyncEngine) -> list[tuple[str, float]]:
    async with engine.connect() as conn:
        query = sa.select(smpp_deliveries.c.state, smpp_deliveries.c.received_at)
        return [(state, at) for state, at in await conn.execute(query.order_by("id"))]


async def test_smpp_deliveries_left_for_the_operator_go_after_their_days_pending_ones_stay(
    app: FastAPI,
) -> None:
    await deliveries(
        app,
        ("unmatched", NOW - 31 * DAY),
        ("unmatched", NOW - 29 * DAY),
        ("unrouted", NOW - 31 * DAY),
        ("unrouted", NOW - 1.0),
        ("pending", NOW - 100 * DAY),  # live: the SMPP transport still retries it
    )
    engine = app.state.runtime.engine

    assert await retention.purge_smpp_deliveries(engine, 30, now=NOW, batch=1) == 2

    assert await remaining(engine) == [
        ("unmatched", NOW - 29 * DAY),
        ("unrouted", NOW - 1.0),
        ("pending", NOW - 100 * DAY),
    ]


async def test_the_worker_job_applies_the_render_and_smpp_settings_on_the_runtimes_files(
    app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    # A store the job opened from its settings would be another, empty directory: the
    # renders go only if it purges the runtime's own store.
    elsewhere = str(tmp_path / "not-the-runtime-files")
    configured = settings.model_copy(
        update={
            "render_retention_days": 1,
            "smpp_delivery_retention_days": 2,
            "files_dir": elsewhere,
        }
    )
    runtime = app.state.runtime
    files = runtime.files
    now = int(time.time())  # the job reads the real clock
    old_fax, new_fax = await rendered(app, files, ("fax", now - 2 * DAY), ("fax", now - 60))
    await deliveries(app, ("unmatched", now - 3 * DAY), ("unmatched", now - DAY))
    job = retention.job(configured)
    assert job.name in {factory(configured).name for factory in wiring.JOBS}

    await job.run(wiring.job_context(runtime, configured))

    assert await kept(files, "fax", old_fax) == [False, False, False]
    assert await kept(files, "fax", new_fax) == [True, True, True]
    assert [state for state, _at in await remaining(runtime.engine)] == ["unmatched"]
