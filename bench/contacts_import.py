"""Contact import throughput: CSV rows per second through the import job, SQLite.

Writes an N-row CSV (distinct valid phone numbers, names, one custom field), stores it
as `POST /v3/lists/{id}/import` would, then times `import_job.run_due_imports` — reading,
checking every number, batched inserts, checkpoints — and prints rows/s and the process's peak memory (wall clock, and per CPU second of this process, which is steadier on a
busy machine). Also with
`--dedupe` (one lookup per batch). Figures go to bench/README.md.

    PYTHONPATH=src .venv/bin/python bench/contacts_import.py [--rows 200000] [--dedupe]
        [--database-url sqlite+aiosqlite:///...]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
import uuid
from pathlib import Path

from dovecote.accounts import service as accounts
from dovecote.contacts import import_job, import_store, service
from dovecote.files.store import LocalFileStore
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade

KEY = "BE7C4BE7-0000-4000-8000-00000000C011"


async def main(rows: int, dedupe: bool, url: str | None, workdir: Path) -> None:
    database_url = url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    engine = create_engine(database_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        await accounts.create_account(conn, username="bench", api_key=KEY, login_password=False)
        principal = await accounts.authenticate_bearer(conn, KEY)
        target = await service.create_list(conn, principal, "Bench")
    source = workdir / "people.csv"
    with source.open("w") as handle:
        handle.write("Phone,First Name,Last Name,Custom 1\n")
        for n in range(rows):
            handle.write(f"+1415{2000000 + n},Person{n},Bench,{n % 97}\n")
    size = source.stat().st_size
    files = LocalFileStore(workdir / "files")
    import_id = str(uuid.uuid4())
    key = f"imports/{import_id}.csv"
    await files.put_file(key, source, "text/csv")
    async with engine.begin() as conn:
        await import_store.insert(
            conn,
            {
                "id": import_id,
                "account_id": principal.account.id,
                "user_id": principal.user.id,
                "list_id": target.id,
                "file_key": key,
                "file_type": "csv",
                "field_order": ["phone_number", "first_name", "last_name", "custom_1"],
                "dedupe": dedupe,
                "status": import_store.PENDING,
                "due_at": time.time(),
                "created_at": time.time(),
            },
        )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, cpu = time.perf_counter(), time.process_time()
    await import_job.run_due_imports(engine, files)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    async with engine.connect() as conn:
        imported = (await service.owned_list(conn, principal.account.id, target.id)).contacts_count
    await engine.dispose()
    backend = database_url.split(":", 1)[0]
    print(
        f"contacts import {backend} dedupe={dedupe}: {imported:,} of {rows:,} rows "
        f"({size / 1e6:.1f} MB) in {elapsed:.2f} s = {imported / elapsed:,.0f} rows/s; "
        f"{cpu:.2f} CPU s = {imported / cpu:,.0f} rows per CPU second; peak RSS "
        f"{rss_before / 1024:.0f} MB before the import, "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB after"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dedupe", action="store_true")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(args.rows, args.dedupe, args.database_url, Path(tmp)))
