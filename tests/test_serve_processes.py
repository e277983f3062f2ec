"""`dovecote serve` as real processes: replicas starting at once on a fresh PostgreSQL,
`DOVECOTE_WORKER_ENABLED=false` honoured, `--workers N` (PostgreSQL only), and a
`dovecote worker` process beside `serve --no-worker` on one SQLite file."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import OWNER, OWNER_KEY
from pg_databases import PG_ADMIN_URL, pg_admin

SRC = str(Path(__file__).resolve().parents[1] / "src")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DOVECOTE_")}
    env.update(
        PYTHONPATH=SRC,
        DOVECOTE_DATABASE_URL=database_url,
        DOVECOTE_OWNER_USERNAME=OWNER,
        DOVECOTE_OWNER_API_KEY=OWNER_KEY,
        DOVECOTE_OWNER_BALANCE="100.00",
        DOVECOTE_SANDBOX_RECEIPT_DELAY="0",
        **extra,
    )
    return env


def serve(env: dict[str, str], port: int, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dovecote.cli", "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_healthy(process: subprocess.Popen[bytes], port: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            raise AssertionError(f"serve on {port} exited {process.returncode}:\n{output}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"serve on {port} not healthy within {timeout} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def empty_postgresql() -> Iterator[str]:
    """A fresh PostgreSQL database with nothing in it: not even Alembic's table."""
    name = f"dovecote_serve_{uuid.uuid4().hex[:12]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def account_status(port: int) -> int:
    response = httpx.get(f"http://127.0.0.1:{port}/v3/account", auth=(OWNER, OWNER_KEY), timeout=10)
    return response.status_code


def test_three_serve_processes_started_at_once_on_a_fresh_postgresql_all_come_up(
    empty_postgresql: str,
) -> None:
    env = environment(empty_postgresql, DOVECOTE_WORKER_ENABLED="false")
    ports = [free_port() for _ in range(3)]
    processes = [serve(env, port) for port in ports]  # no pause between them: they race
    try:
        for process, port in zip(processes, ports, strict=True):
            wait_healthy(process, port)
        # The preset owner exists once and each process authenticates it.
        assert [account_status(port) for port in ports] == [200, 200, 200]
    finally:
        for process in processes:
            stop(process)


def send_one(port: int) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/v3/sms/send",
        json={"messages": [{"to": "+12025550123", "body": "worker?", "source": "test"}]},
        auth=(OWNER, OWNER_KEY),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    message_id: str = response.json()["data"]["messages"][0]["message_id"]
    return message_id


def status_of(database: Path, message_id: str) -> str:
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT status FROM messages WHERE id = ?", (message_id,)).fetchone()
    return str(row[0])


@pytest.mark.parametrize("enabled", ["false", "true"])
def test_serve_runs_the_worker_as_dovecote_worker_enabled_says(
    enabled: str, tmp_path: Path
) -> None:
    database = tmp_path / "serve.db"
    port = free_port()
    process = serve(
        environment(f"sqlite+aiosqlite:///{database}", DOVECOTE_WORKER_ENABLED=enabled), port
    )
    try:
        wait_healthy(process, port)
        message_id = send_one(port)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and status_of(database, message_id) == "queued":
            time.sleep(0.1)
        # A worker polls every 0.2 s: five seconds is ample for it to take the message.
        assert (status_of(database, message_id) == "queued") is (enabled == "false")
    finally:
        stop(process)


def worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "dovecote.cli", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


async def send_concurrently(port: int, count: int, concurrency: int) -> list[str]:
    """`count` single sends, `concurrency` at a time; the message id of each."""
    ids: list[str] = []
    pending = iter(range(count))
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", auth=(OWNER, OWNER_KEY), timeout=30
    ) as client:

        async def sender() -> None:
            for n in pending:
                body = {"messages": [{"to": "+12025550123", "body": f"n{n}", "source": "t"}]}
                response = await client.post("/v3/sms/send", json=body)
                assert response.status_code == 200, response.text
                ids.append(response.json()["data"]["messages"][0]["message_id"])

        await asyncio.gather(*(sender() for _ in range(concurrency)))
    return ids


def test_a_worker_process_beside_serve_delivers_every_send_once_from_one_sqlite_file(
    tmp_path: Path,
) -> None:
    # Two writers on one file (the API's group commit, the worker's claims and outcomes)
    # while sends keep arriving: each waits for the other's write lock, none is refused,
    # and every message is handed over once.
    database = tmp_path / "shared.db"
    env = environment(f"sqlite+aiosqlite:///{database}", DOVECOTE_RATE_LIMIT="100000/second")
    port = free_port()
    api = serve(env, port, "--no-worker")
    delivery: subprocess.Popen[bytes] | None = None
    try:
        wait_healthy(api, port)
        delivery = worker(env)
        ids = asyncio.run(send_concurrently(port, count=300, concurrency=16))
        sent_events = "SELECT COUNT(*), COUNT(DISTINCT message_id) FROM events WHERE type = 'sent'"
        delivered = "SELECT COUNT(*) FROM messages WHERE status = 'delivered'"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with sqlite3.connect(database) as db:
                if db.execute(delivered).fetchone()[0] >= len(ids):
                    break
            time.sleep(0.2)
        assert delivery.poll() is None, delivery.stdout.read().decode() if delivery.stdout else ""
        assert len(set(ids)) == 300
        assert {status_of(database, message_id) for message_id in ids} == {"delivered"}
        with sqlite3.connect(database) as db:
            assert db.execute(sent_events).fetchone() == (300, 300)  # each handed over once
    finally:
        for process in [p for p in (delivery, api) if p is not None]:
            stop(process)


def test_serve_refuses_several_processes_on_sqlite(tmp_path: Path) -> None:
    process = serve(
        environment(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"), free_port(), "--workers", "2"
    )
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 2
    assert b"--workers > 1 needs PostgreSQL" in output
    assert not (tmp_path / "one.db").exists()  # refused before touching anything


def serving_children(pid: int) -> int:
    """Processes uvicorn spawned to serve (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    count = 0
    for child in children:
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        count += b"spawn_main" in command
    return count


def test_serve_runs_two_api_processes_on_postgresql(empty_postgresql: str) -> None:
    port = free_port()
    process = serve(environment(empty_postgresql), port, "--workers", "2", "--no-worker")
    try:
        wait_healthy(process, port)
        deadline = time.monotonic() + 60
        # Both processes answer only once each has finished its own start-up.
        while time.monotonic() < deadline and serving_children(process.pid) < 2:
            time.sleep(0.2)
        assert serving_children(process.pid) == 2
        assert {account_status(port) for _ in range(20)} == {200}
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["database"] == "postgresql"
    finally:
        stop(process)
