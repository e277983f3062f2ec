"""Single-message sends under `wrk`: req/s, p50/p99 and server CPU per request.

Starts a real `dovecote serve` (worker in-process unless --no-worker) on a fresh database
(SQLite by default, or a throwaway PostgreSQL database named by --database-url), drives
`POST /v3/sms/send` with one message per request from `wrk` (apt-get install wrk), each
request a new body, and prints one line per round. Server CPU is read from /proc (the
serve process and every child it spawned, plus any `dovecote worker` processes).

With --smsc the SMS leave through the smpp transport into the SMSC simulator (its own
process) and each round also prints what reached it per second; --worker-processes M
starts M `dovecote worker` processes beside the API (use with --no-worker, PostgreSQL).
--api-processes N starts N separate `dovecote serve` processes on N ports, each driven by
its own wrk with a share of the connections: what N processes behind a load balancer
get. (`--workers N` is the same on one port, but uvicorn's supervisor kills a child that
does not answer its ping within 5 s, so on a loaded machine it may never come up.)

    .venv/bin/python bench/single_send.py [--connections 32] [--duration 20] [--rounds 3]
        [--database-url postgresql+asyncpg://…/db] [--workers N] [--no-worker]
        [--worker-processes M] [--api-processes N] [--accounts K] [--smsc] [--postgresql]

--postgresql creates a throwaway database on the local PostgreSQL (dropped after) and
adds its side: the CPU of the whole PostgreSQL server over the round (every backend,
those that ended too, and its background processes: `support.pg_cluster_cpu_seconds`),
and, in samples taken once a second, how many of the run's backends were waiting on a
lock (the balance row, for one account) and how many other databases' were active (their
CPU is in the figure too: on a shared machine, a run beside others' tests reads high).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import tempfile
import threading
import time
from pathlib import Path

import httpx
import support

from dovecote import wiring
from dovecote.accounts import service as accounts
from dovecote.settings import Settings

# Round-robin over the accounts' Authorization headers; a new body per request.
REQUEST_LUA = """
local auths = {%(auths)s}
function request()
  counter = counter + 1
  local auth = auths[(counter %% #auths) + 1]
  local body = '{"messages":[{"to":"+1415555' .. string.format("%%04d", counter %% 10000) ..
    '","body":"Bench ' .. thread_id .. '-' .. counter .. '"}]}'
  return wrk.format("POST", "/v3/sms/send",
    {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
end
"""


def create_accounts(database_url: str, count: int) -> list[tuple[str, str]]:
    """The owner plus count - 1 accounts, made in one process (the CLI's `accounts create`
    once each would take a second apiece)."""

    async def work() -> list[tuple[str, str]]:
        runtime = wiring.build_runtime(Settings(database_url=database_url))
        try:
            made = [(support.OWNER, support.KEY)]
            for n in range(1, count):
                async with runtime.engine.begin() as conn:
                    created = await accounts.create_account(
                        conn,
                        username=f"bench{n}",
                        password=None,
                        email="",
                        country="US",
                        currency="USD",
                        balance_micros=accounts.parse_money("100000000"),
                        currencies=runtime.prices.currencies,
                    )
                made.append((f"bench{n}", created.api_key))
            return made
        finally:
            await runtime.close()

    return asyncio.run(work())


def spread(urls: list[str], connections: int, duration: int, script: str) -> dict[str, float]:
    """One wrk per API process, the connections split evenly (what a load balancer in
    front of them would do); rates and counts add up, p50 is the request-weighted mean
    of theirs and p99 the worst."""
    if len(urls) == 1:
        return support.run_wrk(urls[0], connections, duration, script)
    results: list[dict[str, float]] = []

    def drive(url: str) -> None:
        results.append(support.run_wrk(url, connections // len(urls), duration, script, 1))

    threads = [threading.Thread(target=drive, args=(url,)) for url in urls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(r["total"] for r in results)
    return {
        "rate": sum(r["rate"] for r in results),
        "total": total,
        "p50": sum(r["p50"] * r["total"] for r in results) / max(1, total),
        "p99": max(r["p99"] for r in results),
        "errors": sum(r["errors"] for r in results),
    }


def wait_for_delivery(url: str, smsc: support.Smsc, timeout: float = 90) -> None:
    response = httpx.post(
        f"{url}/v3/sms/send",
        json={"messages": [{"to": "+14155550000", "body": "probe"}]},
        auth=(support.OWNER, support.KEY),
        timeout=30,
    )
    response.raise_for_status()
    deadline = time.monotonic() + timeout
    while smsc.accepted() == 0:
        if time.monotonic() > deadline:
            raise RuntimeError("no worker delivered the probe message")
        time.sleep(0.2)


class LockSampler(threading.Thread):
    """Once a second: how many of the database's backends wait on a lock, of those active,
    and how many backends of other databases are active."""

    def __init__(self, database: str) -> None:
        super().__init__(daemon=True)
        self.database, self.samples, self.done = database, [], threading.Event()
        self.samples: list[tuple[int, int, int]]

    def run(self) -> None:
        while not self.done.wait(1):
            self.samples.append(support.pg_activity(self.database))

    def summary(self) -> str:
        if not self.samples:
            return ""
        waiting, active, others = (
            sum(sample[i] for sample in self.samples) / len(self.samples) for i in range(3)
        )
        return (
            f", {waiting:.1f} of {active:.1f} active backends waiting on a lock"
            f", {others:.1f} other databases' backends active"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--api-processes", type=int, default=1)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--worker-processes", type=int, default=0)
    parser.add_argument("--accounts", type=int, default=1)
    parser.add_argument("--smsc", action="store_true")
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    database, postmaster = None, None
    if args.postgresql:
        database, args.database_url = support.create_pg_database()
        postmaster = support.pg_postmaster()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        smsc = support.Smsc() if args.smsc else None
        env = support.dovecote_env(database_url, **(support.smpp_env(smsc) if smsc else {}))
        ports = [support.free_port() for _ in range(args.api_processes)]
        servers = [
            support.start_dovecote(env, port, workers=args.workers, worker=not args.no_worker)
            for port in ports
        ]
        workers = [support.start_worker(env) for _ in range(args.worker_processes)]
        pids = [s.pid for s in servers] + [w.pid for w in workers]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        url = urls[0]
        try:
            auths = [
                "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
                for user, secret in create_accounts(database_url, args.accounts)
            ]
            script = REQUEST_LUA % {"auths": ", ".join(f'"{a}"' for a in auths)}
            if smsc:
                wait_for_delivery(url, smsc)  # a `dovecote worker` takes seconds to start
            spread(urls, args.connections, 3, script)  # warm-up: caches, pools
            rounds = []
            for n in range(args.rounds):
                time.sleep(2)  # let the worker drain the last round before counting
                sampler = LockSampler(database) if database else None
                db_before = support.pg_cluster_cpu_seconds(postmaster) if postmaster else 0.0
                sessions_before = support.pg_sessions(database) if database else 0
                load = support.load_average()
                cpu_before = sum(support.cpu_seconds(pid) for pid in pids)
                api_before = sum(support.cpu_seconds(s.pid) for s in servers)
                sent_before = smsc.accepted() if smsc else 0
                started = time.monotonic()
                if sampler:
                    sampler.start()
                figures = spread(urls, args.connections, args.duration, script)
                if sampler:
                    sampler.done.set()
                elapsed = time.monotonic() - started
                delivered = (smsc.accepted() - sent_before) / elapsed if smsc else 0.0
                cpu = sum(support.cpu_seconds(pid) for pid in pids) - cpu_before
                api_cpu = sum(support.cpu_seconds(s.pid) for s in servers) - api_before
                figures["cpu_ms"] = cpu * 1000 / max(1, figures["total"])
                figures["api_cpu_ms"] = api_cpu * 1000 / max(1, figures["total"])
                figures["delivered"] = delivered
                db_cpu = (
                    support.pg_cluster_cpu_seconds(postmaster) - db_before if postmaster else 0.0
                )
                figures["db_cpu_ms"] = db_cpu * 1000 / max(1, figures["total"])
                db_note = ""
                if database:
                    # Stats reach pg_stat_database within a second of the change.
                    time.sleep(1)
                    opened = support.pg_sessions(database) - sessions_before
                    opened -= 1 + (len(sampler.samples) if sampler else 0)  # psql's own
                    db_note = (
                        f", database {figures['db_cpu_ms']:.2f}; "
                        f"{opened * 1000 / max(1, figures['total']):.1f} connections opened "
                        "per 1,000"
                    )
                rounds.append(figures)
                print(
                    f"round {n + 1}: {figures['rate']:,.0f} req/s, p50 {figures['p50']:.1f} ms, "
                    f"p99 {figures['p99']:.1f} ms, server CPU {figures['cpu_ms']:.2f} ms/request"
                    f" (API processes {figures['api_cpu_ms']:.2f}{db_note}), "
                    + (f"{delivered:,.0f} msg/s reached the SMSC, " if smsc else "")
                    + f"{figures['errors']:.0f} non-2xx, load {load:.1f}"
                    + (sampler.summary() if sampler else ""),
                    flush=True,
                )
            db_median = support.median(r["db_cpu_ms"] for r in rounds)
            print(
                f"median of {args.rounds}: "
                f"{support.median(r['rate'] for r in rounds):,.0f} req/s, "
                f"p50 {support.median(r['p50'] for r in rounds):.1f} ms, "
                f"p99 {support.median(r['p99'] for r in rounds):.1f} ms, "
                f"CPU {support.median(r['cpu_ms'] for r in rounds):.2f} ms/request "
                f"(API processes {support.median(r['api_cpu_ms'] for r in rounds):.2f}"
                + (f", database {db_median:.2f}) " if database else ") ")
                + f"({args.connections} connections, {args.workers * args.api_processes} API process(es), "
                f"{args.worker_processes} worker process(es), "
                f"{args.accounts} account(s), {database_url.split(':')[0]})"
            )
        finally:
            for process in [*servers, *workers]:
                support.stop(process)
            if smsc:
                smsc.stop()
            if database:
                support.drop_pg_database(database)


if __name__ == "__main__":
    main()
