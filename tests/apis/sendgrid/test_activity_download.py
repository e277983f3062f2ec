"""Email Activity CSV downloads: the extended option, the export job the worker runs
(leases, retries, takeover of a dead worker's export), the mailed link, the signed link,
and the official `sendgrid` library as the client.

The app fixture runs without a worker, so the tests run the job themselves."""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sendgrid
import sqlalchemy as sa
from fastapi import FastAPI

from activity_rows import DAY, MESSAGES, World, insert_messages, make_world, set_extended
from dispatch_support import event_log
from dovecote import wiring
from dovecote.activity import export as activity_export
from dovecote.activity import export_store as jobs
from dovecote.activity import retention as activity_retention
from dovecote.app import create_app
from dovecote.channels.email.system_mail import SystemMailer
from dovecote.files.store import open_store
from dovecote.settings import Settings
from dovecote.storage import tables
from dovecote.storage.db import create_engine
from files_support import ACCESS_KEY, SECRET_KEY, S3Server, s3_server

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


async def run_job(app: FastAPI, **options: Any) -> int:
    runtime = app.state.runtime
    return await activity_export.run_due_exports(
        runtime.engine, runtime.settings, runtime.system_mail, runtime.files, **options
    )


async def export_row(app: FastAPI, export_id: str) -> Any:
    async with app.state.runtime.engine.connect() as conn:
        return await jobs.get(conn, export_id)


async def mailed_subjects(app: FastAPI) -> list[str]:
    async with app.state.runtime.engine.connect() as conn:
        found = await conn.execute(
            sa.select(tables.messages.c.subject).where(tables.messages.c.recipient == OWNER_EMAIL)
        )
        return list(found.scalars())


def write_files(settings: Settings, export_id: str) -> None:
    """An expired export's CSV in the file store; in the legacy directory (before the
    file store), a dead worker's temporary file and a JSON state file of Dovecote before
    0006 (both old enough to be stray) and someone else's file."""
    stored = Path(settings.files_dir) / activity_export.csv_key(export_id)
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"x")
    directory = activity_export.legacy_dir(settings)
    directory.mkdir(parents=True)
    long_ago = time.time() - settings.export_link_ttl - 60
    stray = (f".{export_id}.csv.gz.0a1b2c3d.tmp", f"{export_id}.json", "not-ours.txt")
    for name in stray:
        (directory / name).write_bytes(b"x")
        os.utime(directory / name, (long_ago, long_ago))


def files_in(settings: Settings) -> list[str]:
    """The export CSVs in the file store."""
    directory = Path(settings.files_dir) / "activity-exports"
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def legacy_files(settings: Settings) -> list[str]:
    directory = activity_export.legacy_dir(settings)
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


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
    # Queued only: nothing is written until a worker runs the job.
    assert files_in(app.state.runtime.settings) == []
    pending = await client.get(f"/v3/messages/download/{body['download_uuid']}")
    assert pending.status_code == 404
    assert pending.json()["errors"][0]["message"] == "the CSV is not ready yet; try again shortly"
    row = await export_row(app, body["download_uuid"])
    assert (row["status"], row["account_id"]) == ("pending", world.owner.account.id)

    assert await run_job(app) == 1
    assert await run_job(app) == 0  # done: nothing left to claim
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

    assert await mailed_subjects(app) == ["Your Email Activity CSV is ready"]
    row = await export_row(app, body["download_uuid"])
    assert (row["status"], row["row_count"], row["attempts"]) == ("ready", len(rows), 1)
    assert row["lease_owner"] is None and row["due_at"] is None
    assert files_in(app.state.runtime.settings) == [f"{body['download_uuid']}.csv.gz"]

    tampered = await client.get(f"{split.path}?{split.query.replace('signature=', 'signature=x')}")
    assert tampered.status_code == 404
    assert tampered.json()["errors"][0]["message"] == "download token is invalid or expired"
    expires = dict(parse_qsl(split.query))["expires"]
    accented = await client.get(f"{split.path}?expires={expires}&signature=%C3%A9", auth=None)
    assert accented.status_code == 404
    assert accented.json()["errors"][0]["message"] == "download token is invalid or expired"


async def test_a_download_honours_the_query_and_streams_in_pages(
    client: httpx.AsyncClient, world: World, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    monkeypatch.setattr(activity_export, "CHUNK", 2)  # many keyset pages from a few rows

    requested = await client.post(
        "/v3/messages/download", params={"query": 'from_email="alice@shop.test"'}
    )
    await run_job(app)
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

    # An export of the owner's, queued directly.
    async with app.state.runtime.engine.begin() as conn:
        export = await activity_export.request(
            conn, account_id=world.owner.account.id, user_id=world.owner.user.id,
            scope_user_id=None, query=None, since=time.time() - 60 * DAY, email="", ttl=3600,
        )  # fmt: skip
    await run_job(app)

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


async def test_only_an_accepted_download_counts_against_one_per_12_hours(
    settings: Settings, world: World
) -> None:
    from dovecote.app import create_app

    # The limit is the app's; `world` seeded the shared database the new app opens.
    limited = create_app(
        settings.model_copy(update={"activity_download_rate_limit": "1 per 12 hours"})
    )
    async with limited.router.lifespan_context(limited):
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {settings.owner_api_key}"},
        ) as http:
            without_option = await http.post("/v3/messages/download")
            await set_extended(limited.state.runtime.engine, world.owner.account.id, True)
            bad_query = await http.post("/v3/messages/download", params={"query": "nope = 1"})
            accepted = await http.post("/v3/messages/download")
            again = await http.post("/v3/messages/download")

    assert without_option.status_code == 403
    assert bad_query.status_code == 400
    # Neither refusal counted: the first valid request is accepted, the next is not.
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["X-RateLimit-Limit"] == "1"
    assert accepted.headers["X-RateLimit-Remaining"] == "0"
    assert again.status_code == 429
    assert again.json()["errors"][0]["message"] == "too many requests"
    # Until the window lets one more through: the reset the accepted answer announced
    # (a sliding window over 12 hours, so anything up to 12 hours, depending on the hour).
    retry_after = int(again.headers["Retry-After"])
    assert 0 < retry_after <= 12 * 3600
    assert abs(retry_after - (int(accepted.headers["X-RateLimit-Reset"]) - time.time())) < 5


async def requested(app: FastAPI, world: World, *times: float) -> list[activity_export.Export]:
    """Exports of the owner requested at `times`, each with a link of 60 seconds."""
    async with app.state.runtime.engine.begin() as conn:
        return [
            await activity_export.request(
                conn,
                account_id=world.owner.account.id,
                user_id=world.owner.user.id,
                scope_user_id=None,
                query=None,
                since=0.0,
                email="",
                ttl=60,
                now=now,
            )
            for now in times
        ]


async def test_expired_downloads_are_purged_with_their_files_and_stray_files(
    app: FastAPI, world: World, settings: Settings
) -> None:
    runtime = app.state.runtime
    old, fresh = await requested(app, world, time.time() - 120, time.time())
    write_files(settings, old.uuid)

    assert await activity_export.purge_expired(runtime.engine, settings, runtime.files) == 1
    assert await export_row(app, old.uuid) is None
    assert await export_row(app, fresh.uuid) is not None
    assert files_in(settings) == []
    assert legacy_files(settings) == ["not-ours.txt"]  # only what Dovecote wrote is swept


async def test_an_export_whose_worker_died_is_finished_by_another_when_its_lease_ends(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]
    async with app.state.runtime.engine.begin() as conn:
        claimed = await jobs.claim(
            conn, owner="crashed", now=time.time(), lease=0.2, limit=10, max_attempts=3
        )
    assert [row["id"] for row in claimed] == [download_uuid]  # ... and it never finishes

    assert await run_job(app, owner="second") == 0  # the lease still holds
    row = await export_row(app, download_uuid)
    assert (row["status"], row["lease_owner"]) == ("running", "crashed")
    pending = await client.get(f"/v3/messages/download/{download_uuid}")
    assert pending.json()["errors"][0]["message"] == "the CSV is not ready yet; try again shortly"

    await asyncio.sleep(0.3)
    assert await run_job(app, owner="second") == 1
    row = await export_row(app, download_uuid)
    assert (row["status"], row["attempts"]) == ("ready", 2)
    assert (await client.get(f"/v3/messages/download/{download_uuid}")).status_code == 200
    assert await mailed_subjects(app) == ["Your Email Activity CSV is ready"]


async def test_a_failed_export_is_retried_after_a_backoff_and_then_succeeds(
    client: httpx.AsyncClient, world: World, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    original = activity_export.write_csv
    calls: list[int] = []

    async def flaky(*args: Any, **kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk full")
        return await original(*args, **kwargs)

    monkeypatch.setattr(activity_export, "write_csv", flaky)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]

    before = time.time()
    assert await run_job(app) == 1
    row = await export_row(app, download_uuid)
    assert (row["status"], row["attempts"], row["error"]) == ("pending", 1, "OSError: disk full")
    assert row["due_at"] >= before + activity_export.BACKOFF
    assert await run_job(app) == 0  # not due again before the backoff
    pending = await client.get(f"/v3/messages/download/{download_uuid}")
    assert pending.json()["errors"][0]["message"] == "the CSV is not ready yet; try again shortly"
    assert files_in(app.state.runtime.settings) == []

    assert await run_job(app, now=time.time() + activity_export.BACKOFF + 1) == 1
    row = await export_row(app, download_uuid)
    assert (row["status"], row["attempts"], row["error"]) == ("ready", 2, None)
    assert (await client.get(f"/v3/messages/download/{download_uuid}")).status_code == 200
    assert await mailed_subjects(app) == ["Your Email Activity CSV is ready"]


async def test_an_export_that_keeps_failing_is_failed_after_three_attempts(
    client: httpx.AsyncClient, world: World, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)

    async def broken(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("no space left")

    monkeypatch.setattr(activity_export, "write_csv", broken)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]

    later = time.time()
    for _ in range(activity_export.MAX_ATTEMPTS):
        assert await run_job(app, now=later) == 1
        later += 10 * activity_export.BACKOFF
    assert await run_job(app, now=later) == 0
    row = await export_row(app, download_uuid)
    assert (row["status"], row["attempts"], row["due_at"]) == ("failed", 3, None)
    assert row["error"] == "RuntimeError: no space left"
    failed = await client.get(f"/v3/messages/download/{download_uuid}")
    assert failed.json()["errors"][0]["message"] == (
        "the CSV could not be written; request a new one"
    )
    assert await mailed_subjects(app) == []


async def test_an_export_whose_workers_keep_dying_is_failed_after_three_attempts(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]
    now = time.time()
    for attempt in range(activity_export.MAX_ATTEMPTS):
        async with app.state.runtime.engine.begin() as conn:
            claimed = await jobs.claim(
                conn, owner=f"dies-{attempt}", now=now, lease=1, limit=10, max_attempts=3
            )
        assert len(claimed) == 1
        now += 2

    assert await run_job(app, now=now) == 0
    row = await export_row(app, download_uuid)
    assert (row["status"], row["error"]) == ("failed", activity_export.LOST)


async def test_a_stopping_worker_hands_its_export_back_without_spending_an_attempt(
    client: httpx.AsyncClient, world: World, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    started = asyncio.Event()

    async def slow(*args: Any, **kwargs: Any) -> int:
        started.set()
        await asyncio.Event().wait()  # a long export
        return 0

    monkeypatch.setattr(activity_export, "write_csv", slow)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]
    job = activity_export.job(app.state.runtime.settings)
    assert job.close is not None

    runtime = app.state.runtime
    context = wiring.job_context(runtime)
    await job.run(context)  # returns at once
    await asyncio.wait_for(started.wait(), 10)
    assert (await export_row(app, download_uuid))["status"] == "running"
    await job.close()

    row = await export_row(app, download_uuid)
    assert (row["status"], row["attempts"], row["lease_owner"]) == ("pending", 0, None)
    assert row["due_at"] <= time.time()


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
    with pytest.raises(Exception, match="404"):  # queued: no worker has run it yet
        sg.client.messages.download._(download_uuid).get()

    async def work() -> None:  # what `dovecote worker` does
        engine = create_engine(settings.database_url)
        try:
            mail = SystemMailer(settings, event_log())
            await activity_export.run_due_exports(engine, settings, mail, open_store(settings))
        finally:
            await engine.dispose()

    asyncio.run(work())
    deadline = time.monotonic() + 20
    while True:  # poll as a client would
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


async def test_a_running_worker_writes_a_requested_export_and_mails_the_link(
    client: httpx.AsyncClient, world: World, app: FastAPI
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    worker = wiring.build_worker(app.state.runtime)  # as `dovecote worker` would
    worker.start()
    try:
        download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]
        deadline = time.monotonic() + 20
        while (ready := await client.get(f"/v3/messages/download/{download_uuid}")).is_error:
            assert time.monotonic() < deadline, ready.json()
            await asyncio.sleep(0.05)
    finally:
        await worker.stop()
    assert ready.json()["presigned_url"].startswith("http://dovecote.test/")
    assert await mailed_subjects(app) == ["Your Email Activity CSV is ready"]


async def test_an_export_whose_link_cannot_be_mailed_is_still_ready(
    client: httpx.AsyncClient, world: World, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)

    async def bounce(*args: Any, **kwargs: Any) -> None:
        raise ValueError("bad address")

    monkeypatch.setattr(activity_export, "_mail_link", bounce)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]

    assert await run_job(app) == 1
    assert (await export_row(app, download_uuid))["status"] == "ready"
    assert (await client.get(f"/v3/messages/download/{download_uuid}")).status_code == 200
    assert await mailed_subjects(app) == []


# --- where the CSV is kept -----------------------------------------------------------------


async def test_an_export_written_before_the_file_store_is_still_served_then_purged(
    client: httpx.AsyncClient, world: World, app: FastAPI, settings: Settings
) -> None:
    """A ready export of an older Dovecote: a bare file name in `file_path`, the CSV in
    `DOVECOTE_ACTIVITY_EXPORT_DIR`."""
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]
    assert await run_job(app) == 1
    moved = activity_export.legacy_dir(settings) / activity_export.csv_name(download_uuid)
    moved.parent.mkdir(parents=True)
    (Path(settings.files_dir) / activity_export.csv_key(download_uuid)).rename(moved)
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(
            sa.update(tables.activity_exports)
            .where(tables.activity_exports.c.id == download_uuid)
            .values(file_path=moved.name)
        )

    link = urlsplit((await client.get(f"/v3/messages/download/{download_uuid}")).json()["csv"])
    fetched = await client.get(f"{link.path}?{link.query}", auth=None)
    assert fetched.status_code == 200
    assert fetched.content == moved.read_bytes()

    later = time.time() + settings.export_link_ttl + 1
    runtime = app.state.runtime
    assert (
        await activity_export.purge_expired(runtime.engine, settings, runtime.files, now=later) == 1
    )
    assert not moved.exists()


async def test_a_stored_csv_that_went_missing_is_a_404_not_a_500(
    client: httpx.AsyncClient, world: World, app: FastAPI, settings: Settings
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]
    assert await run_job(app) == 1
    (Path(settings.files_dir) / activity_export.csv_key(download_uuid)).unlink()

    link = urlsplit((await client.get(f"/v3/messages/download/{download_uuid}")).json()["csv"])
    gone = await client.get(f"{link.path}?{link.query}", auth=None)
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["message"] == "download token is invalid or expired"


def elsewhere(settings: Settings, tmp_path: Path) -> Settings:
    """The settings with their files in another, empty directory: a job that opened its
    own store from them would miss the runtime's files."""
    return settings.model_copy(update={"files_dir": str(tmp_path / "not-the-runtime-files")})


async def test_the_worker_job_writes_the_csv_to_the_runtimes_store_which_serves_it(
    client: httpx.AsyncClient, world: World, app: FastAPI, settings: Settings, tmp_path: Path
) -> None:
    await set_extended(app.state.runtime.engine, world.owner.account.id, True)
    download_uuid = (await client.post("/v3/messages/download")).json()["download_uuid"]
    configured = elsewhere(settings, tmp_path)
    periodic = activity_export.job(configured)
    try:
        await periodic.run(wiring.job_context(app.state.runtime, configured))
        deadline = time.monotonic() + 20
        while (await export_row(app, download_uuid))["status"] != "ready":
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        assert periodic.close is not None
        await periodic.close()

    assert files_in(settings) == [activity_export.csv_name(download_uuid)]
    assert files_in(configured) == []
    link = urlsplit((await client.get(f"/v3/messages/download/{download_uuid}")).json()["csv"])
    fetched = await client.get(f"{link.path}?{link.query}", auth=None)
    assert fetched.status_code == 200
    assert len(rows_of(fetched.content)) == sum(len(m.events) for m in EXPORTED)


async def test_the_retention_job_purges_expired_csvs_from_the_runtimes_store(
    app: FastAPI, world: World, settings: Settings, tmp_path: Path
) -> None:
    runtime = app.state.runtime
    (old,) = await requested(app, world, time.time() - 120)
    await runtime.files.put(activity_export.csv_key(old.uuid), b"x", "application/gzip")
    configured = elsewhere(settings, tmp_path)

    await activity_retention.job(configured).run(wiring.job_context(runtime, configured))

    assert await export_row(app, old.uuid) is None
    assert not await runtime.files.exists(activity_export.csv_key(old.uuid))


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        yield server


async def test_with_a_storage_url_the_csv_is_kept_in_the_bucket_and_served_from_it(
    settings: Settings, s3: S3Server
) -> None:
    """Workers and API processes on different machines share the bucket: the worker
    stores the CSV there, the API streams it back from there, the purge deletes it."""
    bucket = s3.new_bucket()
    configured = settings.model_copy(
        update={
            "storage_url": f"s3://{bucket}/dovecote",
            "s3_endpoint_url": s3.endpoint_url,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
        }
    )
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        engine = application.state.runtime.engine
        assert settings.owner_api_key is not None
        created = await make_world(engine, settings.owner_api_key)
        await insert_messages(engine, created, time.time())
        await set_extended(engine, created.owner.account.id, True)
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            auth=(str(settings.owner_username), str(settings.owner_api_key)),
        ) as http:
            download_uuid = (await http.post("/v3/messages/download")).json()["download_uuid"]
            assert await run_job(application) == 1
            stored = s3.client().get_object(
                Bucket=bucket, Key=f"dovecote/{activity_export.csv_key(download_uuid)}"
            )
            assert stored["ContentType"] == "application/gzip"
            body = stored["Body"].read()
            link = urlsplit(
                (await http.get(f"/v3/messages/download/{download_uuid}")).json()["csv"]
            )
            fetched = await http.get(f"{link.path}?{link.query}", auth=None)
        assert fetched.status_code == 200
        assert fetched.content == body
        assert len(rows_of(body)) == sum(len(m.events) for m in EXPORTED)
        assert files_in(configured) == []  # nothing in the local directory

        later = time.time() + configured.export_link_ttl + 1
        files = application.state.runtime.files
        assert await activity_export.purge_expired(engine, configured, files, now=later) == 1
    listed = s3.client().list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0
