"""Email Activity CSV downloads: the extended option, the background job, the mailed
link, the signed link, and the official `sendgrid` library as the client."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sendgrid
import sqlalchemy as sa
from fastapi import FastAPI

from activity_rows import DAY, MESSAGES, World, insert_messages, make_world, set_extended
from dovecote.events import activity_export
from dovecote.settings import Settings
from dovecote.storage import tables
from dovecote.storage.db import create_engine

OWNER_EMAIL = "owner@example.com"
# With the 60-day window the owner sees every message of its account but m15 (70 days).
EXPORTED = [m for m in MESSAGES if m.owner != "other" and m.id != "m15"]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(
        update={
            "activity_rate_limit": "10000/second",
            # SendGrid's one request per 12 hours is tested with the other limits.
            "activity_download_rate_limit": "10000/second",
            "activity_export_dir": str(tmp_path / "exports"),
            "public_url": "http://dovecote.test",
        }
    )


@pytest.fixture
async def world(app: FastAPI, settings: Settings) -> World:
    engine = app.state.runtime.engine
    assert settings.owner_api_key is not None
    created = await make_world(engine, settings.owner_api_key)
    await insert_messages(engine, created, time.time())
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(tables.users)
            .where(tables.users.c.id == created.owner.user.id)
            .values(email=OWNER_EMAIL)
        )
    return created


def rows_of(gz: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(gzip.decompress(gz).decode())))


async def test_a_download_writes_the_csv_mails_the_link_and_signs_it(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)

    requested = await client.post("/v3/messages/download")
    assert requested.status_code == 202
    body = requested.json()
    assert body["status"] == "pending"
    assert body["message"] == (
        f"An email will be sent to {OWNER_EMAIL} when the CSV is ready to download."
    )
    # The background job has run by now (the in-process transport waits for it).
    ready = await client.get(f"/v3/messages/download/{body['download_uuid']}")
    assert ready.status_code == 200
    link = ready.json()["presigned_url"]
    assert ready.json()["csv"] == link
    assert link.startswith("http://dovecote.test/v3/messages/download/")

    split = urlsplit(link)
    fetched = await client.get(f"{split.path}?{split.query}", auth=None)
    assert fetched.status_code == 200
    rows = rows_of(fetched.content)
    assert len(rows) == sum(len(m.events) for m in EXPORTED)
    assert {r["msg_id"] for r in rows} == {m.id for m in EXPORTED}
    bounce = next(r for r in rows if r["event_name"] == "bounced")
    assert (bounce["msg_id"], bounce["reason"]) == ("m03", "550 no such user")
    assert rows[0]["msg_id"] == "m01"  # newest first
    assert rows[0]["categories"] == "welcome;onboarding"

    async with app.state.runtime.engine.connect() as conn:
        mailed = (
            await conn.execute(
                sa.select(tables.messages.c.subject).where(
                    tables.messages.c.recipient == OWNER_EMAIL
                )
            )
        ).scalars()
        assert list(mailed) == ["Your Email Activity CSV is ready"]

    tampered = await client.get(f"{split.path}?{split.query.replace('signature=', 'signature=x')}")
    assert tampered.status_code == 404
    assert tampered.json()["errors"][0]["message"] == "download token is invalid or expired"


async def test_a_download_honours_the_query_and_streams_in_pages(
    client: httpx.AsyncClient, world: World, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    monkeypatch.setattr(activity_export, "CHUNK", 2)  # many keyset pages from a few rows

    requested = await client.post(
        "/v3/messages/download", params={"query": 'from_email="alice@shop.test"'}
    )
    link = (await client.get(f"/v3/messages/download/{requested.json()['download_uuid']}")).json()
    split = urlsplit(link["presigned_url"])
    rows = rows_of((await client.get(f"{split.path}?{split.query}")).content)

    alice = [m for m in EXPORTED if m.from_email == "alice@shop.test"]
    order = list(dict.fromkeys(r["msg_id"] for r in rows))
    newest_first = sorted(alice, key=lambda m: min(ago for _, ago, _ in m.events))
    assert order == [m.id for m in newest_first]
    assert len(rows) == sum(len(m.events) for m in alice)


async def test_no_option_bad_queries_and_other_callers_get_nothing(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    without_option = await client.post("/v3/messages/download")
    assert without_option.status_code == 403
    assert "extended Email Activity history" in without_option.json()["errors"][0]["message"]
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)

    bad = await client.post("/v3/messages/download", params={"query": "nope = 1"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"] == "invalid syntax: 'nope' is not a known field"

    # An export of the owner's, made directly.
    export = activity_export.new_export(
        account_id=world.owner.account.id, user_id=world.owner.user.id, scope_user_id=None,
        query=None, since=time.time() - 60 * DAY, email="", ttl=3600,
    )  # fmt: skip
    settings: Settings = app.state.runtime.settings
    await activity_export.write_csv(app.state.runtime.engine, settings, export)

    mine = await client.get(f"/v3/messages/download/{export.uuid}")
    sub = await anon.get(
        f"/v3/messages/download/{export.uuid}",
        headers={"Authorization": f"Bearer {world.sub_key}"},
    )
    stranger = await anon.get(
        f"/v3/messages/download/{export.uuid}",
        headers={"Authorization": f"Bearer {world.other_key}"},
    )
    junk = await client.get("/v3/messages/download/not-a-uuid")
    traversal = await client.get("/v3/messages/download/..%2F..%2Fetc%2Fpasswd/csv")
    assert mine.status_code == 200
    assert traversal.status_code == 404
    for response in (sub, stranger, junk):
        assert response.status_code == 404
        assert response.json()["errors"][0]["message"] == "download token is invalid or expired"


def test_expired_downloads_are_purged(settings: Settings) -> None:
    export = activity_export.new_export(
        account_id=1, user_id=1, scope_user_id=None, query=None, since=0.0, email="",
        ttl=60, now=time.time() - 120,
    )  # fmt: skip
    activity_export.save(settings, export)
    activity_export.csv_path(settings, export.uuid).write_bytes(b"x")

    assert activity_export.purge_files(settings) == 1
    assert activity_export.load(settings, export.uuid) is None
    assert not activity_export.csv_path(settings, export.uuid).exists()


def test_the_official_sendgrid_client_downloads_a_csv(live_server: Any, settings: Settings) -> None:
    async def seed() -> None:
        engine = create_engine(settings.database_url)
        try:
            assert settings.owner_api_key is not None
            world = await make_world(engine, settings.owner_api_key)
            await insert_messages(engine, world, time.time())
            await set_extended(engine, world.owner.account.id, True)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    assert settings.owner_api_key is not None
    sg = sendgrid.SendGridAPIClient(api_key=settings.owner_api_key, host=live_server.url)

    requested = sg.client.messages.download.post(query_params={"query": 'status="delivered"'})
    assert requested.status_code == 202
    download_uuid = json.loads(requested.body)["download_uuid"]
    deadline = time.monotonic() + 20
    while True:  # the job runs after the response; poll as a client would
        try:
            ready = sg.client.messages.download._(download_uuid).get()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    link = json.loads(ready.body)["presigned_url"]
    split = urlsplit(link)
    fetched = httpx.get(f"{live_server.url}{split.path}?{split.query}")
    assert fetched.status_code == 200
    statuses = {row["status"] for row in rows_of(fetched.content)}
    assert statuses == {"delivered"}
