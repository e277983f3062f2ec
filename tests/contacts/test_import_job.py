"""The import job: resumable after a crash with no row twice and none lost; 100k rows."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from contacts_support import new_list
from dovecote import wiring
from dovecote.contacts import import_job
from dovecote.contacts import import_store as jobs
from dovecote.settings import Settings
from dovecote.storage.tables import contact_imports, contacts
from fetch_support import file_server


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"files_dir": str(tmp_path / "files")})


WORKING = (jobs.PENDING, jobs.RUNNING)


def numbers(count: int) -> list[str]:
    return [f"+1415{2000000 + n}" for n in range(count)]


async def imported(client: httpx.AsyncClient, list_id: int, import_id: str) -> dict[str, Any]:
    state: dict[str, Any] = (await client.get(f"/v3/lists/{list_id}/import/{import_id}")).json()[
        "data"
    ]
    return state


async def queue(client: httpx.AsyncClient, list_id: int, body: bytes) -> str:
    with file_server() as server:
        url = server.serve("/big.csv", body)
        response = await client.post(
            f"/v3/lists/{list_id}/import",
            json={"file_url": url, "field_order": ["phone", "first_name"]},
        )
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["id"])


async def test_a_worker_that_dies_mid_import_is_taken_over_without_duplicates(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    engine = app.state.runtime.engine
    files = app.state.runtime.files
    list_id = await new_list(client)
    wanted = numbers(1000)
    import_id = await queue(client, list_id, "".join(f"{n},P\n" for n in wanted).encode())

    async with engine.begin() as conn:
        (row,) = await jobs.claim(conn, owner="dead", now=time.time(), lease=60, max_attempts=5)
    async with files.local_copy(row["file_key"]) as path:
        await import_job._import(engine, row, path, owner="dead", lease=60, batch=300, stop_after=2)
    assert (await client.get(f"/v3/lists/{list_id}")).json()["data"]["_contacts_count"] == 600

    later = time.time() + 61  # the dead worker's lease has run out
    assert await import_job.run_due_imports(engine, files, owner="alive", batch=300, now=later) == 1

    async with engine.connect() as conn:
        stored = list(
            (
                await conn.execute(
                    sa.select(contacts.c.phone_number).where(contacts.c.list_id == list_id)
                )
            ).scalars()
        )
        state = (await conn.execute(sa.select(contact_imports))).mappings().one()
    assert sorted(stored) == sorted(wanted)
    assert (state["status"], state["imported"], state["next_row"], state["attempts"]) == (
        "done",
        1000,
        1000,
        2,
    )
    assert not await files.exists(row["file_key"])
    assert state["id"] == import_id


async def test_a_lost_lease_rolls_the_late_workers_batch_back(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    engine = app.state.runtime.engine
    files = app.state.runtime.files
    list_id = await new_list(client)
    await queue(client, list_id, "".join(f"{n},P\n" for n in numbers(10)).encode())
    async with engine.begin() as conn:
        (row,) = await jobs.claim(conn, owner="slow", now=time.time(), lease=60, max_attempts=5)
    async with engine.begin() as conn:  # another worker takes it over after the lease
        await jobs.claim(conn, owner="fast", now=time.time() + 61, lease=60, max_attempts=5)

    async with files.local_copy(row["file_key"]) as path:
        with pytest.raises(import_job.LeaseLost):
            await import_job._import(engine, row, path, owner="slow", lease=60, batch=5)

    assert (await client.get(f"/v3/lists/{list_id}")).json()["data"]["_contacts_count"] == 0


async def test_a_100k_row_csv_imports_completely(app: FastAPI, client: httpx.AsyncClient) -> None:
    engine = app.state.runtime.engine
    list_id = await new_list(client)
    body = "".join(f"{n},Person {i}\n" for i, n in enumerate(numbers(100_000))).encode()
    import_id = await queue(client, list_id, body)

    await import_job.run_due_imports(engine, app.state.runtime.files)

    state = (await client.get(f"/v3/lists/{list_id}/import/{import_id}")).json()["data"]
    assert (state["status"], state["imported"], state["refused"]) == ("done", 100_000, 0)
    last = await client.get(f"/v3/lists/{list_id}/contacts", params={"order_by": "contact_id:desc"})
    assert last.json()["data"]["data"][0]["first_name"] == "Person 99999"


async def test_an_import_whose_file_is_gone_fails_with_the_reason(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    engine = app.state.runtime.engine
    files = app.state.runtime.files
    list_id = await new_list(client)
    import_id = await queue(client, list_id, b"+14155552671,Ann\n")
    async with engine.connect() as conn:
        key = (await conn.execute(sa.select(contact_imports.c.file_key))).scalar_one()
    await files.delete(key)

    await import_job.run_due_imports(engine, files)

    state = (await client.get(f"/v3/lists/{list_id}/import/{import_id}")).json()["data"]
    assert state["status"] == "failed"
    assert "cannot be read" in state["error"]
    assert state["imported"] == 0


async def test_the_worker_job_reads_the_file_from_the_runtimes_store(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    runtime = app.state.runtime
    list_id = await new_list(client)
    import_id = await queue(client, list_id, b"+14155552671,Ann\n+14155552672,Bob\n")
    # A store the job opened from its settings would be another, empty directory: the
    # import finds its file only in the store it is given.
    elsewhere = settings.model_copy(update={"files_dir": str(tmp_path / "not-the-runtime-files")})
    periodic = import_job.job(elsewhere)
    try:
        await periodic.run(wiring.job_context(runtime, elsewhere))
        deadline = time.monotonic() + 20
        while (state := await imported(client, list_id, import_id))["status"] in WORKING:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        assert periodic.close is not None
        await periodic.close()

    assert (state["status"], state["imported"], state["error"]) == ("done", 2, None)
