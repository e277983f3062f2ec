"""SMPP submit throughput: the smpp transport against the SMSC simulator, one worker.

The simulator (tests/smsc_support.py) runs in its own process, so it does not share the
GIL with the sender; it answers every submit_sm with an id and sends no receipts. Two
measurements, one line each:

    transport    `SmppTransport.send` on batches of 1000 synthetic jobs: binds, window,
                 PDU building and parsing, no database
    dispatcher   the real dispatcher draining N queued SMS into the SMSC: claim, submit,
                 row updates and `sent` events, on a fresh SQLite file (or --database-url)

    .venv/bin/python bench/smpp.py [-n 20000] [--binds 2] [--window 64]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import support

from dovecote import bootstrap, wiring
from dovecote.accounts import store as account_store
from dovecote.core import ids
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.pipeline.transports.base import Job
from dovecote.pipeline.transports.smpp.bind import Config
from dovecote.pipeline.transports.smpp.transport import SmppTransport
from dovecote.settings import Settings
from dovecote.storage.tables import messages

OWNER = "bench"


def transport(port: int, binds: int, window: int) -> SmppTransport:
    config = Config("127.0.0.1", port, "dovecote", "secret")
    return SmppTransport(config, binds=binds, window=window)


async def ready(smpp: SmppTransport) -> None:
    await asyncio.wait_for(asyncio.gather(*(b.ready.wait() for b in smpp.binds)), 10)


def job(n: int) -> Job:
    return Job(
        id=f"bench-{n}",
        account_id=1,
        user_id=1,
        channel="sms",
        sender="Dovecote",
        recipient=f"+6141{n:07d}",
        subject=None,
        body=f"Your code is {n:06d}. It expires in 10 minutes.",
        attempts=0,
        custom_string=None,
        created_at=0,
        sent_at=None,
        transport_ref=None,
    )


async def bench_transport(port: int, count: int, binds: int, window: int) -> None:
    smpp = transport(port, binds, window)
    await smpp.start()
    await ready(smpp)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        sent = 0
        for start in range(0, count, 1000):
            outcomes = await smpp.send([job(n) for n in range(start, min(start + 1000, count))])
            sent += sum(outcome.kind == "sent" for outcome in outcomes)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await smpp.close()
    assert sent == count, f"{sent} of {count} sent"
    print(
        f"transport: {count / elapsed:,.0f} submit_sm/s ({count} in {elapsed:.2f} s, "
        f"{cpu / count * 1e6:,.0f} µs sender CPU each; {binds} binds × window {window})",
        flush=True,
    )


async def bench_dispatcher(
    database_url: str, port: int, count: int, binds: int, window: int
) -> None:
    settings = Settings(
        database_url=database_url,
        owner_username=OWNER,
        owner_api_key="BE7C4BE7-0000-4000-8000-000000000003",
        owner_balance="1000000",
        worker_enabled=False,
        worker_batch_size=1000,
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
    smpp = transport(port, binds, window)
    channels = {channel.name: channel for channel in wiring.CHANNELS}
    dispatcher = Dispatcher(
        runtime.engine, settings, channels, {name: smpp for name in channels}, runtime.events
    )
    await smpp.start(dispatcher.pushed())
    await ready(smpp)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        while await dispatcher.run_once():
            pass
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        async with runtime.engine.connect() as conn:
            query = sa.select(sa.func.count()).where(messages.c.status == "sent")
            sent = int((await conn.execute(query)).scalar_one())
    finally:
        await smpp.close()
        await runtime.close()
    assert sent == count, f"{sent} of {count} sent"
    backend = database_url.split(":", 1)[0]
    print(
        f"dispatcher ({backend}): {count / elapsed:,.0f} messages/s submitted and recorded "
        f"({count} in {elapsed:.2f} s, {cpu / count * 1e6:,.0f} µs worker CPU each)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--count", type=int, default=20000)
    parser.add_argument("--binds", type=int, default=2)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio loop")
    args = parser.parse_args()
    runner: Any = asyncio.run
    if not args.no_uvloop:
        import uvloop  # what `dovecote worker` runs on (uvicorn[standard])

        runner = uvloop.run
    smsc = support.Smsc()
    port = smsc.port
    try:
        runner(bench_transport(port, args.count, args.binds, args.window))
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            runner(bench_dispatcher(url, port, args.count, args.binds, args.window))
    finally:
        smsc.stop()


if __name__ == "__main__":
    main()
