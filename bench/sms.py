"""SMS throughput benchmark: ingest (batched and single) and dispatch.

Starts a real `dovecote serve` process on a fresh database (SQLite by default, or
`--database-url postgresql+asyncpg://...` for a throwaway PostgreSQL database), then
prints one line per measurement. Numbers go to bench/README.md, not into assertions.

    .venv/bin/python bench/sms.py [--batches 20] [--singles 3000] [--concurrency 16]
                                  [--batched-only | --in-process]

Every message goes to a number no earlier message of the run used: a new recipient costs
a full phone-number validation, a repeated one a cache hit (`core/phone.py`), and a bulk
send to a list is mostly new recipients. (Until 2026-11-30 the numbers repeated every
10,000 messages, so half of the 20 batches hit the cache.)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import support

OWNER, KEY = "bench", "BE7C4BE7-0000-4000-8000-000000000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(database_url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DOVECOTE_DATABASE_URL": database_url,
        "DOVECOTE_OWNER_USERNAME": OWNER,
        "DOVECOTE_OWNER_API_KEY": KEY,
        "DOVECOTE_OWNER_BALANCE": "100000000",
        "DOVECOTE_SMS_THROTTLE_WINDOW": "0",
        "DOVECOTE_RATE_LIMIT": "1000000/second",
    }
    command = [sys.executable, "-m", "dovecote.cli", "serve", "--port", str(port), "--no-worker"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


# Recipients +1 415 2xx xxxx: valid US numbers, one per message offset. The batches use
# offsets from 0, the single sends from SINGLES_FROM, the warm-up from WARM_UP_FROM.
SINGLES_FROM, WARM_UP_FROM, NUMBERS = 500_000, 900_000, 1_000_000


def batch(size: int, offset: int) -> dict[str, object]:
    assert offset + size <= NUMBERS
    return {
        "messages": [
            {"to": f"+1415{2_000_000 + offset + i:07d}", "body": f"Bench message {offset + i}"}
            for i in range(size)
        ]
    }


async def batched_ingest(url: str, batches: int, server_pid: int) -> None:
    assert batches * 1000 <= SINGLES_FROM
    async with httpx.AsyncClient(base_url=url, auth=(OWNER, KEY), timeout=60) as client:
        await client.post("/v3/sms/send", json=batch(10, WARM_UP_FROM))
        payloads = [batch(1000, i * 1000) for i in range(batches)]
        load = support.load_average()
        cpu_before = support.cpu_seconds(server_pid)
        started = time.perf_counter()
        for payload in payloads:
            response = await client.post("/v3/sms/send", json=payload)
            assert response.json()["data"]["queued_count"] == 1000, response.text[:300]
        elapsed = time.perf_counter() - started
        cpu = support.cpu_seconds(server_pid) - cpu_before
    rate = batches * 1000 / elapsed
    print(
        f"batched ingest: {rate:,.0f} messages/s ({batches} requests of 1000 in {elapsed:.2f} s), "
        f"server CPU {cpu / batches * 1000:.1f} ms per 1000, load {load:.1f}"
    )


async def batched_in_process(database_url: str, batches: int) -> None:
    """The batched ingest with the app in this process (httpx.ASGITransport): the CPU
    spent inside the app per 1000 messages — the client's JSON building and parsing happen
    outside it — and the garbage collector's share of that. Steadier than the server
    process's CPU from /proc on a shared machine (no scheduling between two processes)."""
    from dovecote.app import create_app
    from dovecote.settings import Settings

    settings = Settings(
        database_url=database_url,
        owner_username=OWNER,
        owner_api_key=KEY,
        owner_balance="100000000",
        sms_throttle_window=0,
        rate_limit="1000000/second",
    )
    app = create_app(settings, run_worker=False)
    meter = {"app": 0.0, "gc": 0.0, "gc_started": 0.0}
    measuring = False

    inside = False  # in the app, where a collection counts (not in the client's code)

    async def metered(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside
        started, inside = time.process_time(), measuring
        try:
            await app(scope, receive, send)
        finally:
            inside = False
            if measuring:
                meter["app"] += time.process_time() - started

    def collected(phase: str, info: dict[str, int]) -> None:
        if inside and phase == "start":
            meter["gc_started"] = time.process_time()
        elif inside and meter["gc_started"]:
            meter["gc"] += time.process_time() - meter["gc_started"]
            meter["gc_started"] = 0.0

    gc.callbacks.append(collected)
    transport = httpx.ASGITransport(app=metered)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport, base_url="http://bench", auth=(OWNER, KEY), timeout=60
        ) as client,
    ):
        await client.post("/v3/sms/send", json=batch(10, WARM_UP_FROM))
        payloads = [batch(1000, i * 1000) for i in range(batches)]
        load = support.load_average()
        measuring = True
        started = time.perf_counter()
        for payload in payloads:
            response = await client.post("/v3/sms/send", json=payload)
            assert response.json()["data"]["queued_count"] == 1000, response.text[:300]
        elapsed = time.perf_counter() - started
        measuring = False
    gc.callbacks.remove(collected)
    per_1000 = {name: value / batches * 1000 for name, value in meter.items()}  # ms
    print(
        f"batched ingest in-process: {batches * 1000 / elapsed:,.0f} messages/s (client "
        f"included), CPU inside the app {per_1000['app']:.1f} ms per 1000 (garbage "
        f"collection {per_1000['gc']:.1f}), load {load:.1f}"
    )


async def single_ingest(url: str, count: int, concurrency: int) -> None:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            response = await client.post("/v3/sms/send", json=batch(1, SINGLES_FROM + i))
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]

    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=url, auth=(OWNER, KEY), timeout=60, limits=limits
    ) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"single-message sends: {count / elapsed:,.0f} requests/s, p50 {p50:.1f} ms, "
        f"p99 {p99:.1f} ms (concurrency {concurrency}, {count} requests)"
    )


async def dispatch(database_url: str) -> None:
    """The real worker loop (`Worker.run`, no periodic jobs) drains the queue: on
    PostgreSQL it claims each batch while the last one's outcomes are written."""
    from dovecote import wiring
    from dovecote.app import tune_gc
    from dovecote.pipeline import leases
    from dovecote.settings import Settings
    from dovecote.storage.tables import messages

    # A receipt delay longer than the run: this measures hand-over to the transport.
    settings = Settings(
        database_url=database_url, worker_batch_size=1000, sandbox_receipt_delay=3600
    )
    runtime = wiring.build_runtime(settings)
    engine = runtime.engine
    worker = wiring.build_worker(runtime, jobs=())
    tune_gc()  # as `dovecote worker` does (since 2026-11-30, session 7)
    backends: dict[int, float] = {}
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            # What autovacuum does within a minute of the ingest; this machine's
            # PostgreSQL runs without it, and unanalyzed, the claim sorts the whole queue.
            await conn.exec_driver_sql("ANALYZE")
    async with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(messages.c.due_at <= time.time())
        total = int(await conn.scalar(query) or 0)
    if engine.dialect.name == "postgresql":
        backends = {pid: _cpu(pid) for pid in await _backends(engine)}
    load = support.load_average()
    process = time.process_time()
    started = time.perf_counter()
    worker.start()
    while True:  # one cheap look a tick (an index probe); the worker stops when all is claimed
        await asyncio.sleep(0.02)
        async with engine.connect() as conn:
            if not await leases.any_due(conn, messages, now=time.time()):
                break
    await worker.stop()  # writes the batches in hand
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - process
    if backends:
        backends = {pid: _cpu(pid) - backends.get(pid, 0.0) for pid in await _backends(engine)}
    await engine.dispose()
    per_1000 = f"CPU per 1,000: {cpu / total * 1e6:.1f} ms in this process"
    if backends:
        per_1000 += f", {sum(backends.values()) / total * 1e6:.1f} ms in PostgreSQL"
    print(
        f"dispatcher (sandbox): {total / elapsed:,.0f} messages/s ({total} messages in "
        f"{elapsed:.2f} s; {per_1000}), load {load:.1f}"
    )


async def _backends(engine: Any) -> list[int]:
    """The PostgreSQL backends of `engine`'s database (its pool's connections)."""
    async with engine.connect() as conn:
        query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        return [int(pid) for pid in (await conn.exec_driver_sql(query)).scalars()]


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of a local process, from /proc; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sandbox_scripts(database_url: str, rules: int, rounds: int = 2000) -> None:
    """What an account's stored sandbox rules cost the dispatch path: the version check
    (once per batch, at most every DOVECOTE_SANDBOX_REFRESH_SECONDS), and the prefix tests
    per message with `rules` stored rules that do not match (the worst case: all tried)."""
    from dovecote.accounts.service import authenticate_basic
    from dovecote.pipeline import sandbox_scripts as stored
    from dovecote.pipeline.transports.base import Job
    from dovecote.pipeline.transports.sandbox import SandboxTransport
    from dovecote.storage.db import create_engine

    engine = create_engine(database_url)
    async with engine.begin() as conn:
        principal = await authenticate_basic(conn, OWNER, KEY)
        for i in range(rules):
            await stored.add_script(conn, principal, "rule", f"+999{i:04d}", "failed:302")
    sandbox = SandboxTransport(receipt_delay=3600, refresh=0)
    sandbox.scripts.start(engine)
    await sandbox.scripts.current()
    started = time.perf_counter()
    for _ in range(rounds):
        sandbox.scripts._checked = float("-inf")  # force the read each round
        await sandbox.scripts.current()
    check = (time.perf_counter() - started) / rounds * 1e6
    jobs = [
        Job(
            str(i),
            principal.account.id,
            principal.user.id,
            "sms",
            "Bench",
            f"+1415555{i:04d}",
            None,
            "Hello",
            0,
            None,
            0,
            None,
            None,
        )
        for i in range(1000)
    ]
    bare = SandboxTransport(receipt_delay=3600)
    timings = []
    for transport in (bare, sandbox):
        transport.scripts._checked = time.monotonic()
        transport.scripts.refresh = 3600
        started = time.perf_counter()
        for _ in range(20):
            await transport.send(jobs)
        timings.append((time.perf_counter() - started) / 20_000 * 1e6)
    await engine.dispose()
    print(
        f"sandbox scripts: version check {check:.0f} µs per batch; send {timings[0]:.2f} µs "
        f"per message without stored rules, {timings[1]:.2f} µs with {rules} (none matching)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--singles", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--account-rules", type=int, default=20)
    parser.add_argument(
        "--batched-only", action="store_true", help="measure the batched ingest alone"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="the batched ingest alone, app in this process: CPU inside the app per 1000",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        if args.in_process:
            asyncio.run(batched_in_process(database_url, args.batches))
            return
        port = free_port()
        server = start_server(database_url, port)
        try:
            url = f"http://127.0.0.1:{port}"
            asyncio.run(batched_ingest(url, args.batches, server.pid))
            if args.batched_only:
                return
            if args.singles:  # 0: straight on to the dispatch
                asyncio.run(single_ingest(url, args.singles, args.concurrency))
        finally:
            server.terminate()
            server.wait(timeout=30)
        asyncio.run(dispatch(database_url))
        asyncio.run(sandbox_scripts(database_url, args.account_rules))


if __name__ == "__main__":
    main()
