"""Webhook benchmark: deliveries per second to a local receiver, and receipt → webhook latency.

A receiver (uvicorn, a bare ASGI app answering 200) runs in its own process on loopback
and notes when each webhook arrives. On a fresh database (SQLite by default, or
`--database-url postgresql+asyncpg://…/<throwaway db>`):

1. throughput: N queued deliveries, sent by one `WebhookSender` (200 in flight), timed
   from the first claim to the last outcome written;
2. end to end: SMS receipts are written through the event log (the automation sink
   queues a webhook for a URL receipt rule in each receipt's transaction) at a steady
   rate while the sender runs its passes every `--poll` seconds, as the worker's job
   does; latency = the webhook's arrival at the receiver − the receipt's commit.

Numbers go to bench/README.md, not into assertions.

    .venv/bin/python bench/webhooks.py [-n 10000] [--rate 1000] [--seconds 10] [--poll 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import socket
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dovecote.accounts import service as accounts
from dovecote.automations.webhook_sender import WebhookSender
from dovecote.pipeline import webhook_queue
from dovecote.pipeline.events import Event, EventLog
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import upgrade
from dovecote.storage.tables import automation_rules, webhook_deliveries
from dovecote.wiring import SINKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _save(log_path: str, arrivals: list[tuple[str, float]]) -> None:
    Path(log_path).write_text(json.dumps(arrivals))


def receiver(port: int, log_path: str) -> None:
    """The receiving process: answer 200 to everything, note (message_id, arrival)."""
    import uvicorn

    arrivals: list[tuple[str, float]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    _save(log_path, arrivals)
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            arrivals.append((json.loads(body).get("message_id", ""), time.time()))
        except ValueError:
            arrivals.append(("", time.time()))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="uvloop",
                http="httptools", access_log=False)  # fmt: skip


def start_receiver(log_path: str) -> tuple[multiprocessing.Process, str]:
    port = free_port()
    process = multiprocessing.Process(target=receiver, args=(port, log_path), daemon=True)
    process.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}/hook"
        time.sleep(0.05)
    raise RuntimeError("the receiver did not start")


def stop_receiver(process: multiprocessing.Process, log_path: str) -> list[tuple[str, float]]:
    assert process.pid is not None
    os.kill(process.pid, 2)  # SIGINT: uvicorn shuts down and writes the arrival log
    process.join(timeout=20)
    return [(str(m), float(at)) for m, at in json.loads(Path(log_path).read_text())]


async def setup(database_url: str, url: str) -> tuple[Settings, int, int, int]:
    settings = Settings(database_url=database_url, fetch_allow_private=True)
    engine = create_engine(database_url)
    await upgrade(engine)
    async with engine.begin() as conn:
        created = await accounts.create_account(conn, username=f"bench{uuid.uuid4().hex[:6]}")
        account_id, user_id = created.account.id, created.user.id
        rule = await conn.execute(
            automation_rules.insert()
            .values(
                account_id=account_id, user_id=user_id, kind="sms_receipt", rule_name="bench",
                action="URL", action_address=url, webhook_type="json", enabled=True,
                match_type=0, created_at=0, updated_at=0,
            )
            .returning(automation_rules.c.id)
        )  # fmt: skip
        rule_id = int(rule.scalar_one())
    await engine.dispose()
    return settings, account_id, user_id, rule_id


async def throughput(
    settings: Settings, account_id: int, rule_id: int, url: str, n: int, concurrency: int
) -> None:
    engine = create_engine(settings.database_url)
    now = time.time()
    rows = [
        webhook_queue.row(
            account_id=account_id, rule_id=rule_id, event_type="receipt",
            message_id=str(uuid.uuid4()), url=url, content_type="application/json",
            body=json.dumps({"message_id": f"t{i}", "status_code": 201}), now=now,
        )
        for i in range(n)
    ]  # fmt: skip
    async with engine.begin() as conn:
        for start in range(0, n, 5000):
            await webhook_queue.enqueue(conn, rows[start : start + 5000])
    sender = WebhookSender(engine, settings, concurrency=concurrency)
    started = time.perf_counter()
    made = await sender.drain()
    took = time.perf_counter() - started
    await sender.close()
    async with engine.connect() as conn:
        delivered = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(webhook_deliveries)
                .where(webhook_deliveries.c.status == "delivered")
            )
        ).scalar_one()
        await conn.execute(webhook_deliveries.delete())
        await conn.commit()
    await engine.dispose()
    print(
        f"throughput ({concurrency} in flight): {made} attempts, {delivered} delivered in {took:.2f} s = {made / took:,.0f} webhooks/s"
    )


async def end_to_end(
    settings: Settings,
    account_id: int,
    user_id: int,
    rate: float,
    seconds: float,
    poll: float,
    concurrency: int,
) -> dict[str, float]:
    engine = create_engine(settings.database_url)
    events = EventLog(SINKS)
    committed: dict[str, float] = {}
    sender = WebhookSender(engine, settings, concurrency=concurrency)
    stop = asyncio.Event()

    async def produce() -> None:
        batch = max(1, int(rate * 0.01))  # a transaction every 10 ms, as a dispatcher would
        end = time.monotonic() + seconds
        tick = time.monotonic()
        while time.monotonic() < end:
            ids = [str(uuid.uuid4()).upper() for _ in range(batch)]
            at = time.time()
            async with engine.begin() as conn:
                await events.record(
                    conn,
                    [
                        Event(i, account_id, user_id, "sms", "receipt", at,
                              {"status_code": 201, "status_text": "Delivered"})
                        for i in ids
                    ],
                )  # fmt: skip
            done = time.time()
            committed.update(dict.fromkeys(ids, done))
            tick += 0.01
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
        stop.set()

    async def consume() -> None:
        while not stop.is_set():
            await sender.start_pass()
            await asyncio.sleep(poll)
        await sender.drain()

    await asyncio.gather(produce(), consume())
    await sender.close()
    await engine.dispose()
    return committed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=10_000, help="deliveries for the throughput run")
    parser.add_argument("--rate", type=float, default=1000.0, help="receipts per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--poll", type=float, default=0.2, help="seconds between sender passes")
    parser.add_argument("--concurrency", type=int, default=200, help="deliveries in flight")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db"
        log_path = f"{tmp}/arrivals.json"
        process, url = start_receiver(log_path)
        try:
            settings, account_id, user_id, rule_id = asyncio.run(setup(database_url, url))
            asyncio.run(throughput(settings, account_id, rule_id, url, args.n, args.concurrency))
            committed = asyncio.run(
                end_to_end(
                    settings,
                    account_id,
                    user_id,
                    args.rate,
                    args.seconds,
                    args.poll,
                    args.concurrency,
                )
            )
        finally:
            arrivals = stop_receiver(process, log_path)
    latencies = sorted(
        (at - committed[message_id]) * 1000
        for message_id, at in arrivals
        if message_id in committed
    )
    if not latencies:
        print("end to end: no webhook arrived")
        return
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"end to end at {args.rate:,.0f} receipts/s for {args.seconds:g} s (passes every "
        f"{args.poll:g} s): {len(latencies)} of {len(committed)} arrived, "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {latencies[-1]:.0f} ms"
    )


if __name__ == "__main__":
    main()
