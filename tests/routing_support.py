"""Peers for the routing tests: a second Dovecote on a loopback port (the upstream of the
`http` transport), a bare HTTP server that answers one status (an upstream in trouble),
and a worker of the Dovecote under test driven pass by pass. Also what the tests of the
`http` transport against that upstream share: Dovecote A (the app under test) and its
owner's client, and reads and writes of either side's API. And start-up run again under
other secret keys, for the tests of secrets sealed at rest (connectors, webhook secrets).

Importable as `routing_support` (pyproject's `pythonpath` puts `tests/` on sys.path).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from conftest import OWNER, OWNER_KEY, free_port
from dovecote import bootstrap, wiring
from dovecote.app import create_app
from dovecote.pipeline.transports import registry
from dovecote.pipeline.worker import Worker
from dovecote.settings import Settings
from pg_databases import PgDatabases, pg_url

PEER_KEY = "PEER-0C1D-SECRET-7F3A9B2E4D"  # the upstream's API key: must never leak


class Served:
    """An ASGI app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


class Failing:
    """An upstream that answers every request with one HTTP status, and counts them."""

    def __init__(self, status: int = 503) -> None:
        self.status = status
        self.requests = 0
        self.app = FastAPI()
        self.app.router.routes.append(Route("/{path:path}", self._answer, methods=["GET", "POST"]))

    async def _answer(self, request: Request) -> JSONResponse:
        self.requests += 1
        return JSONResponse({"http_code": self.status}, status_code=self.status)


def peer_database(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[str]:
    """A second, empty database on the same backend as `database_url`."""
    if database_url.startswith("sqlite"):
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "peer.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    databases: PgDatabases = request.getfixturevalue("pg_databases")
    name = databases.take()
    yield pg_url(name)
    databases.give_back(name)


def peer_settings(database_url: str, tmp_path: Path, **tuning: Any) -> Settings:
    """The upstream Dovecote: its own owner and key, its worker running, sandbox receipts
    at once; `tuning` changes any of its settings."""
    settings = Settings(
        database_url=database_url,
        files_dir=str(tmp_path / "peer-files"),
        owner_username=OWNER,
        owner_api_key=PEER_KEY,
        owner_balance="1000.00",
        worker_enabled=True,
        worker_poll_interval=0.05,
        sandbox_receipt_delay=0,
        rate_limit="10000/second",
    )
    return settings.model_copy(update=tuning)


@contextmanager
def peer(settings: Settings) -> Iterator[Served]:
    with Served(create_app(settings)) as served:
        yield served


def upstream_peer(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, **tuning: Any
) -> Iterator[Served]:
    """The body of an `upstream` fixture: the peer on a database of its own, served."""
    for url in peer_database(request, database_url, tmp_path):
        with peer(peer_settings(url, tmp_path, **tuning)) as served:
            yield served


@asynccontextmanager
async def app_under_test(settings: Settings, **tuning: Any) -> AsyncIterator[FastAPI]:
    """Dovecote A, started: quick retries and routing changes seen at once (`tuning`
    changes any other setting)."""
    tuned = settings.model_copy(
        update={"worker_backoff_base": 0.05, "routing_refresh_seconds": 0.0, **tuning}
    )
    application = create_app(tuned)
    async with application.router.lifespan_context(application):
        yield application


@asynccontextmanager
async def owner_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A's API in-process, as its owner."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=(OWNER, OWNER_KEY)
    ) as http:
        yield http


async def ok(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST `body`; its answer's `data` (any other status than 200 fails the test)."""
    response = await client.post(path, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def upstream_history(upstream: Served, channel: str = "sms") -> list[dict[str, Any]]:
    """The upstream's history of `channel`, as its owner reads it."""
    async with httpx.AsyncClient(base_url=upstream.url, auth=(OWNER, PEER_KEY)) as http:
        response = await http.get(f"/v3/{channel}/history", params={"limit": 100})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]["data"]
    return data


@asynccontextmanager
async def driven_worker(app: FastAPI) -> AsyncIterator[Worker]:
    """The app's worker, built as `serve` builds it, started but driven by the test."""
    worker = wiring.build_worker(app.state.runtime)
    await registry.start(worker.dispatcher.transports, worker.dispatcher.pushed())
    try:
        yield worker
    finally:
        await worker.dispatcher.close()


async def until(check: Callable[[], Any], worker: Worker | None = None, within: float = 20) -> None:
    """Run dispatcher passes (if given a worker) until `check()` is true."""
    deadline = time.monotonic() + within
    while True:
        if worker is not None:
            await worker.dispatcher.run_once()
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def start_up_again(
    app: FastAPI, *, secret_key: str | None = None, previous: str = ""
) -> None:
    """Start-up's preparation run again on the app's runtime (no migrations, no owner), as
    a restart does it: with `secret_key` given, as if DOVECOTE_SECRET_KEY were that and
    DOVECOTE_SECRET_KEY_PREVIOUS `previous` (a rotation, or a key lost). The runtime's own
    settings are back afterwards."""
    runtime = app.state.runtime
    settings = runtime.settings
    if secret_key is not None:
        runtime.settings = settings.model_copy(
            update={"secret_key": secret_key, "secret_key_previous": previous}
        )
    try:
        await bootstrap.prepare(runtime, migrate=False, create_owner=False)
    finally:
        runtime.settings = settings
