"""Real `dovecote worker` processes on a database of their own, for the tests that kill
them: fresh databases copied from the session's migrated templates, start/stop, and
polling a count until it is reached (failing early, with the logs, if a worker dies)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from dovecote.storage.db import create_engine
from dovecote.storage.tables import messages
from pg_databases import PgDatabases, pg_url

# --- databases ------------------------------------------------------------------------------


@pytest.fixture
def pg_database_url(pg_databases: PgDatabases) -> Iterator[str]:
    """A fresh PostgreSQL database copied from the session's migrated template."""
    name = pg_databases.take()
    yield pg_url(name)
    pg_databases.give_back(name)


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "workers.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite+aiosqlite:///{target}"


def query(database_url: str, statement: sa.Executable) -> list[tuple[object, ...]]:
    async def run() -> list[tuple[object, ...]]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in await conn.execute(statement)]
        finally:
            await engine.dispose()

    return asyncio.run(run())


# --- worker processes -----------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start_worker(
    database_url: str, log: Path, *, script: str | None = None, **settings: object
) -> WorkerProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DOVECOTE_")}
    env.update(
        DOVECOTE_DATABASE_URL=database_url,
        DOVECOTE_SANDBOX_RECEIPT_DELAY="0",
        DOVECOTE_WORKER_POLL_INTERVAL="0.05",
        DOVECOTE_TEST_CREDENTIALS="true",
        PYTHONUNBUFFERED="1",
    )
    env.update({f"DOVECOTE_{key.upper()}": str(value) for key, value in settings.items()})
    command = [sys.executable, "-c", script] if script else [sys.executable, "-m", "dovecote.cli"]
    if not script:
        command.append("worker")
    handle = log.open("wb")
    process = subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return WorkerProcess(process, log)


def stop(workers: list[WorkerProcess]) -> None:
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait(timeout=5)


def wait_until(
    database_url: str,
    statement: sa.Executable,
    done: int,
    workers: list[WorkerProcess],
    timeout: float,
    owners: set[str] | None = None,
) -> float:
    """Poll until `statement` (a count) reaches `done`; fail early if a worker dies.
    `owners` collects the lease owners seen holding rows along the way."""
    start = time.monotonic()
    value = 0
    holding = sa.select(messages.c.lease_owner).where(messages.c.lease_owner.is_not(None))
    while time.monotonic() - start < timeout:
        [(raw,)] = query(database_url, statement)
        value = int(str(raw))
        if value >= done:
            return time.monotonic() - start
        if owners is not None:
            owners.update(str(owner) for (owner,) in query(database_url, holding.distinct()))
        for worker in workers:
            if worker.process.poll() is not None:
                pytest.fail(f"worker exited with {worker.process.returncode}:\n{worker.output()}")
        time.sleep(0.1)
    logs = "\n---\n".join(w.output() for w in workers)
    pytest.fail(f"only {value} of {done} after {timeout} s; worker logs:\n{logs}")
