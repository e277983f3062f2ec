"""Shared fixtures: an isolated database per test (SQLite and PostgreSQL), the app, a live server.

Every database-backed test runs once per backend. A migrated template is built once per
session and copied for each test (a file copy on SQLite; on PostgreSQL a copy made with
`CREATE DATABASE … TEMPLATE`, reset to the template after each test: tests/pg_databases.py),
so tests never share state and never pay for migrations twice.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import uvicorn
from fastapi import FastAPI

from dovecote.app import create_app
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade
from pg_databases import PG_ADMIN_URL, PgDatabases, pg_admin, pg_url

# Argon2 at its production cost (~170 ms a hash on this machine) would be paid by every
# test whose app creates the owner at start-up: ~2,000 of them. Tests hash with the same
# algorithm at its lowest cost instead, through the settings (`settings` below): every
# runtime built from them applies it (`wiring.build_runtime`), for the whole process. The
# hashes are real argon2id and verification reads the cost from each hash. Processes the
# tests start (`dovecote serve`, workers) keep the production cost unless their
# environment says otherwise.
CHEAP_HASH_TIME, CHEAP_HASH_KIB, CHEAP_HASH_LANES = 1, 32, 1
# The same as settings, for the tests that build their own.
CHEAP_HASHING: dict[str, Any] = {
    "password_hash_time_cost": CHEAP_HASH_TIME,
    "password_hash_memory_kib": CHEAP_HASH_KIB,
    "password_hash_parallelism": CHEAP_HASH_LANES,
}

# Generated tests are reproducible: the same examples on every run and machine, so a red
# run can always be replayed. A failure they find becomes a plain example test.
hypothesis.settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis.settings.load_profile("deterministic")

OWNER = "owner"
OWNER_KEY = "0C0FFEE0-1234-4ABC-8DEF-000000000001"
OWNER_PASSWORD = "owner-password"
BACKENDS = [
    b for b in os.environ.get("DOVECOTE_TEST_BACKENDS", "sqlite,postgresql").split(",") if b
]


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def build() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    _run(build())
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    name = f"dovecote_tpl_{os.getpid()}"

    async def build() -> None:
        await pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
        await pg_admin(f'CREATE DATABASE "{name}"')
        engine = create_engine(pg_url(name))
        await upgrade(engine)
        await engine.dispose()

    try:
        _run(build())
    except OSError as exc:  # refused connection: CI must not silently skip PostgreSQL
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    yield name
    _run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_databases(pg_template: str) -> Iterator[PgDatabases]:
    databases = PgDatabases(pg_template)
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "dovecote.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    name = databases.take()
    yield pg_url(name)
    databases.give_back(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        files_dir=str(tmp_path / "files"),  # stored files never land in the checkout
        owner_username=OWNER,
        owner_password=OWNER_PASSWORD,
        owner_api_key=OWNER_KEY,
        owner_balance="100.00",
        worker_enabled=False,
        sandbox_receipt_delay=0,
        rate_limit="10000/second",
        **CHEAP_HASHING,
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client authenticated as the owner, talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=(OWNER, OWNER_KEY)
    ) as http:
        yield http


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn in a background thread, for the official (synchronous) SDK clients."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings) as server:
        yield server


# The longest tests start first. xdist hands tests out in collection order, so a
# minute-long test collected last runs alone on one core while the other idles: the
# contract shards (~20-30 s each), the tests that start real processes and the
# 20,000-contact campaign used to be the run's tail. Order within each group is kept.
# With it, `--dist load` (the default) ended both workers 0.3 s and 1.8 s apart in two
# full runs on 2026-11-30: `worksteal` would have no tail left to shorten.
_LONG_FIRST = (
    "tests/test_contract.py",
    "tests/campaigns/test_fanout_processes.py",
    "tests/test_serve_processes.py",
    "tests/pipeline/test_worker_processes.py",
    "tests/apis/clicksend/test_sms_crash.py",
)


def pytest_collection_finish(session: pytest.Session) -> None:
    # What is loaded by now (every module, schema and route: ~1.5 million objects) lives
    # as long as the process, yet each full collection walked all of it again: 0.7 s
    # a time, ~15 % of the run. Frozen once, after one collection, a full collection
    # walks only what the tests themselves made since. (Freezing again later would keep
    # earlier tests' garbage alive; this is done once, before any test runs.)
    gc.collect()
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def long_first(item: pytest.Item) -> int:
        return 0 if item.nodeid.startswith(_LONG_FIRST) else 1

    items.sort(key=long_first)


# No test may be skipped silently: a skip (a missing dependency, an unreachable
# database) fails the run, so CI can never pass on a suite that did not run.
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and exitstatus == 0:
        print(f"\n{len(_skipped)} test(s) were skipped; skips are failures here:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = 1
