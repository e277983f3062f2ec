"""Email throughput: queueing (validation + MIME build + insert), then delivery by the SMTP
transport into a local aiosmtpd sink that accepts everything, and by the sandbox transport.

Each delivery run starts from N freshly queued emails on a fresh SQLite database (or
`--database-url` for PostgreSQL) and drives the real dispatcher until the queue is
empty — claim, transport, row updates, events and the activity sink included. The sink
runs in its own process so it does not share the GIL with the sender. One line is
printed per measurement; the figures go to bench/README.md, not into assertions.

    .venv/bin/python bench/email_throughput.py [-n 5000] [--connections 4]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from dovecote import bootstrap, wiring
from dovecote.accounts import store as account_store
from dovecote.channels.email import compose as email_domain
from dovecote.channels.email.mime import Mailbox
from dovecote.core.models import Principal
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.pipeline.transports.base import Transport
from dovecote.pipeline.transports.email_sandbox import EmailSandboxTransport
from dovecote.pipeline.transports.smtp import SmtpTransport
from dovecote.runtime import Runtime
from dovecote.settings import Settings
from dovecote.storage.tables import events

OWNER = "bench"
HTML = (
    "<html><body><h1>Your receipt</h1><p>Thanks for your order <b>#{n}</b>.</p>"
    "<p>Track it <a href='https://shop.example/orders/{n}'>here</a>.</p></body></html>"
)
# The sink: accepts everything; answers "cpu" on stdin with its CPU seconds so far.
SINK = """
import sys, time
from aiosmtpd.controller import Controller
class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Ok"
controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
for line in sys.stdin:
    print(time.process_time(), flush=True)
controller.stop()
"""


class Sink:
    """aiosmtpd in its own process, so it does not share the GIL with the sender."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", SINK, str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.read() == "ready"

    def read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def cpu(self) -> float:
        assert self.process.stdin is not None
        self.process.stdin.write("cpu\n")
        self.process.stdin.flush()
        return float(self.read())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def prepare(settings: Settings) -> tuple[Runtime, Principal]:
    runtime = wiring.build_runtime(settings)
    await bootstrap.prepare(runtime)
    async with runtime.engine.connect() as conn:
        user = await account_store.get_user_by_username(conn, OWNER)
        assert user is not None
        account = await account_store.get_account(conn, user.account_id)
        assert account is not None
    return runtime, Principal(user=user, account=account)


async def queue(
    runtime: Runtime, principal: Principal, count: int, per_request: int = 100
) -> float:
    """Queue `count` one-recipient emails, `per_request` per transaction; returns seconds."""
    prices = runtime.prices
    started = time.perf_counter()
    for start in range(0, count, per_request):
        drafts = [
            email_domain.Email(
                sender=Mailbox("shop@example.com", "Shop"),
                to=[Mailbox(f"customer{n}@example.net", f"Customer {n}")],
                subject=f"Receipt #{n}",
                html=HTML.format(n=n),
            )
            for n in range(start, min(start + per_request, count))
        ]
        async with runtime.engine.begin() as conn:
            await email_domain.queue_emails(
                conn,
                principal,
                drafts,
                settings=runtime.settings,
                events=runtime.events,
                prices=prices,
            )
    return time.perf_counter() - started


async def deliver(runtime: Runtime, transport: Transport) -> tuple[int, float, float]:
    """Drain the queue; returns (delivered, wall seconds, this process's CPU seconds)."""
    channels = {channel.name: channel for channel in wiring.CHANNELS}
    dispatcher = Dispatcher(
        runtime.engine,
        runtime.settings,
        channels,
        {name: transport for name in channels},
        runtime.events,
    )
    started, cpu = time.perf_counter(), time.process_time()
    while await dispatcher.run_once():
        pass
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    async with runtime.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(events.c.type == "delivered")
        delivered = int((await conn.execute(query)).scalar_one())
    return delivered, elapsed, cpu


async def run(label: str, settings: Settings, count: int, transport: Transport) -> None:
    runtime, principal = await prepare(settings)
    try:
        queued_in = await queue(runtime, principal, count)
        delivered, elapsed, cpu = await deliver(runtime, transport)
    finally:
        await runtime.close()
    assert delivered == count, f"{label}: {delivered} of {count} delivered"
    # CPU per email is the sender's own cost (claim, transport, writes, events, sinks),
    # which stays meaningful when other processes compete for the machine.
    print(
        f"{label}: {count / elapsed:,.0f} emails/s delivered ({count} in {elapsed:.2f} s, "
        f"{cpu / count * 1e6:,.0f} µs sender CPU per email); queueing incl. MIME build "
        f"{count / queued_in:,.0f}/s",
        flush=True,
    )


def settings_for(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        owner_username=OWNER,
        owner_api_key="BE7C4BE7-0000-4000-8000-000000000002",
        owner_balance="1000000",
        worker_enabled=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--count", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio loop")
    args = parser.parse_args()
    runner: Any = asyncio.run
    if not args.no_uvloop:
        import uvloop  # what `dovecote serve` runs on (uvicorn[standard])

        runner = uvloop.run
    sink = Sink()
    try:
        with tempfile.TemporaryDirectory() as tmp:

            def url(name: str) -> str:
                return args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / name}"

            smtp = SmtpTransport(
                host="127.0.0.1", port=sink.port, tls="none", connections=args.connections
            )
            label = f"smtp → aiosmtpd sink ({args.connections} connections)"
            before = sink.cpu()
            runner(run(label, settings_for(url("smtp.db")), args.count, smtp))
            used = sink.cpu() - before
            print(
                f"  (the aiosmtpd sink itself used {used / args.count * 1e6:,.0f} µs CPU per email)"
            )
            if args.database_url:
                print("(sandbox run skipped: it needs an empty database)")
                return
            sandbox = EmailSandboxTransport()
            runner(run("sandbox", settings_for(url("sandbox.db")), args.count, sandbox))
    finally:
        sink.close()


if __name__ == "__main__":
    main()
