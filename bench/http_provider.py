"""The http transport to a second Dovecote, and what routing costs per message.

Dovecote B (the upstream) runs as `dovecote serve --no-worker` in its own process on a
fresh SQLite file; the worker of Dovecote A, in this process, drains N queued SMS through
a route to B. Three lines:

    http         A's dispatcher through the router and the http transport into B's
                 `/v3/sms/send` (batches of `--batch`): B validates, prices, charges and
                 queues each message, so this is an end-to-end hand-over rate
    sandbox      A's dispatcher to the sms sandbox with no route (today's path)
    routed       the same, through a route to a sandbox connector: the difference from
                 `sandbox` is what routing adds per message (table lookup, acceptance
                 records written and read, the shared health's reads and batched
                 counter writes, whose count it prints)
    match        `RoutingTable.match` alone over a table of ten routes (the last matches)

    .venv/bin/python bench/http_provider.py [-n 5000] [--batch 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import support

from dovecote import bootstrap, wiring
from dovecote.accounts import store as account_store
from dovecote.core import ids
from dovecote.pipeline.routing import store as routing
from dovecote.pipeline.routing.store import Connector, Route
from dovecote.pipeline.routing.table import RoutingTable
from dovecote.pipeline.transports import registry
from dovecote.pipeline.transports.base import Job
from dovecote.settings import Settings
from dovecote.storage.tables import messages

OWNER = "bench"
KEY = "BE7C4BE7-0000-4000-8000-000000000013"


def start_upstream(port: int, database: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DOVECOTE_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
        "DOVECOTE_OWNER_USERNAME": OWNER,
        "DOVECOTE_OWNER_API_KEY": KEY,
        "DOVECOTE_OWNER_BALANCE": "1000000",
        "DOVECOTE_RATE_LIMIT": "1000000/second",
    }
    command = [sys.executable, "-m", "dovecote.cli", "serve", "--port", str(port), "--no-worker"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    support.wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
    return process


async def bench(database_url: str, count: int, mode: str, upstream: str | None, batch: int) -> None:
    settings = Settings(
        database_url=database_url,
        owner_username=OWNER,
        owner_api_key=KEY,
        owner_balance="1000000",
        worker_enabled=False,
        worker_batch_size=1000,
        sandbox_receipt_delay=3600,  # no settle passes inside the measurement
    )
    runtime = wiring.build_runtime(settings)
    await bootstrap.prepare(runtime)
    async with runtime.engine.begin() as conn:
        user = await account_store.get_user_by_username(conn, OWNER)
        assert user is not None
        now = int(time.time())
        rows: list[dict[str, Any]] = [
            {
                "id": ids.new_id(),
                "account_id": user.account_id,
                "user_id": user.id,
                "channel": "sms",
                "direction": "out",
                "sender": "Dovecote",
                "recipient": f"+6141{n:07d}",
                "body": f"Your code is {n:06d}. It expires in 10 minutes.",
                "status": "queued",
                "due_at": 0.0,
                "created_at": now,
                "updated_at": now,
            }
            for n in range(count)
        ]
        for start in range(0, count, 1000):
            await conn.execute(messages.insert(), rows[start : start + 1000])
        if mode == "http":
            assert upstream is not None
            config = {"url": upstream, "username": OWNER, "password": KEY, "batch": batch}
            config["poll"] = 3600  # receipts are not part of this measurement
            await routing.add_connector(
                conn,
                name="upstream",
                transport="http",
                settings=config,
                seal=routing.sealer(settings),
            )
            await routing.add_route(conn, connector_names=["upstream"], channel="sms")
        elif mode == "routed":
            await routing.add_connector(
                conn, name="local", transport="sandbox", settings={}, seal=routing.sealer(settings)
            )
            # Nine routes that do not match before the one that does: a realistic table.
            for prefix in range(1, 10):
                await routing.add_route(
                    conn, connector_names=["local"], prefix=f"+9{prefix}", priority=10
                )
            await routing.add_route(conn, connector_names=["local"], channel="sms")
    worker = wiring.build_worker(runtime)
    dispatcher = worker.dispatcher
    await registry.start(dispatcher.transports, dispatcher.pushed())
    try:
        started, cpu = time.perf_counter(), time.process_time()
        while await dispatcher.run_once():
            pass
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        async with runtime.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(messages.c.status == "sent")
            sent = int((await conn.execute(query)).scalar_one())
    finally:
        router: Any = dispatcher.transports["sms"]
        await dispatcher.close()  # flushes the router's last health counters
        await runtime.close()
    assert sent == count, f"{sent} of {count} sent"
    # Shared connector health (`routing/health.py`): statements that wrote it.
    writes = f", {router.board.writes} health writes" if mode != "sandbox" else ""
    print(
        f"{mode}: {count / elapsed:,.0f} messages/s handed over and recorded "
        f"({count} in {elapsed:.2f} s, {cpu / count * 1e6:,.0f} µs worker CPU each{writes})",
        flush=True,
    )


def bench_match(count: int) -> None:
    routes = (
        *(Route(n, None, f"+9{n}", None, None, None, 10, ("local",)) for n in range(1, 10)),
        Route(10, "sms", "", None, None, None, 0, ("local",)),
    )
    connector = Connector(1, "local", "sandbox", {}, 0.0, True)
    table = RoutingTable(1, routes, {"local": connector})
    jobs = [
        Job(f"m{n}", 1, 1, "sms", "Dovecote", f"+6141{n:07d}", None, "hi", 0, None, 0, None, None)
        for n in range(count)
    ]
    started = time.perf_counter()
    for job in jobs:
        route = table.match(job)
        assert route is not None
        table.failover(route)
    elapsed = time.perf_counter() - started
    print(f"match: {elapsed / count * 1e6:.2f} µs per message (10 routes)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--count", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100, help="messages per upstream request")
    args = parser.parse_args()
    import uvloop  # what `dovecote worker` runs on (uvicorn[standard])

    bench_match(100_000)

    with tempfile.TemporaryDirectory() as tmp:
        port = support.free_port()
        upstream = start_upstream(port, Path(tmp) / "upstream.db")
        try:
            for mode in ("sandbox", "routed", "http"):
                url = f"sqlite+aiosqlite:///{Path(tmp) / f'{mode}.db'}"
                uvloop.run(bench(url, args.count, mode, f"http://127.0.0.1:{port}", args.batch))
        finally:
            upstream.terminate()
            upstream.wait(timeout=20)


if __name__ == "__main__":
    main()
