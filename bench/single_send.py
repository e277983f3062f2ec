"""Single-message sends under `wrk`: req/s, p50/p99 and server CPU per request.

Starts a real `dovecote serve` (worker in-process unless --no-worker) on a fresh database
(SQLite by default, or a throwaway PostgreSQL database named by --database-url), drives
`POST /v3/sms/send` with one message per request from `wrk` (apt-get install wrk), each
request a new body, and prints one line per round. Server CPU is read from /proc (the
serve process and every child it spawned, plus any `dovecote worker` processes).

With --smsc the SMS leave through the smpp transport into the SMSC simulator (its own
process) and each round also prints what reached it per second; --worker-processes M
starts M `dovecote worker` processes beside the API (use with --no-worker, PostgreSQL).

    .venv/bin/python bench/single_send.py [--connections 32] [--duration 20] [--rounds 3]
        [--database-url postgresql+asyncpg://…/db] [--workers N] [--no-worker]
        [--worker-processes M] [--accounts K] [--smsc]
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import support

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


CLI = [sys.executable, "-m", "dovecote.cli"]


def create_accounts(database_url: str, count: int) -> list[tuple[str, str]]:
    credentials = [(support.OWNER, support.KEY)]
    for n in range(1, count):
        created = subprocess.run(
            [*CLI, "accounts", "create", f"bench{n}", "--balance", "100000000"],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"DOVECOTE_DATABASE_URL": database_url},
        )
        key = re.search(r"api key:\s+(\S+)", created.stdout)
        assert key is not None, created.stdout
        credentials.append((f"bench{n}", key.group(1)))
    return credentials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--worker-processes", type=int, default=0)
    parser.add_argument("--accounts", type=int, default=1)
    parser.add_argument("--smsc", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        smsc = support.Smsc() if args.smsc else None
        env = support.dovecote_env(database_url, **(support.smpp_env(smsc) if smsc else {}))
        port = support.free_port()
        server = support.start_dovecote(env, port, workers=args.workers, worker=not args.no_worker)
        workers = [support.start_worker(env) for _ in range(args.worker_processes)]
        pids = [server.pid] + [w.pid for w in workers]
        url = f"http://127.0.0.1:{port}"
        try:
            auths = [
                "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
                for user, secret in create_accounts(database_url, args.accounts)
            ]
            script = REQUEST_LUA % {"auths": ", ".join(f'"{a}"' for a in auths)}
            support.run_wrk(url, args.connections, 3, script)  # warm-up: caches, pools
            rounds = []
            for n in range(args.rounds):
                time.sleep(2)  # let the worker drain the last round before counting
                cpu_before = sum(support.cpu_seconds(pid) for pid in pids)
                api_before = support.cpu_seconds(server.pid)
                sent_before = smsc.accepted() if smsc else 0
                started = time.monotonic()
                figures = support.run_wrk(url, args.connections, args.duration, script)
                elapsed = time.monotonic() - started
                delivered = (smsc.accepted() - sent_before) / elapsed if smsc else 0.0
                cpu = sum(support.cpu_seconds(pid) for pid in pids) - cpu_before
                api_cpu = support.cpu_seconds(server.pid) - api_before
                figures["cpu_ms"] = cpu * 1000 / max(1, figures["total"])
                figures["api_cpu_ms"] = api_cpu * 1000 / max(1, figures["total"])
                figures["delivered"] = delivered
                rounds.append(figures)
                print(
                    f"round {n + 1}: {figures['rate']:,.0f} req/s, p50 {figures['p50']:.1f} ms, "
                    f"p99 {figures['p99']:.1f} ms, server CPU {figures['cpu_ms']:.2f} ms/request"
                    f" (API processes {figures['api_cpu_ms']:.2f}), "
                    + (f"{delivered:,.0f} msg/s reached the SMSC, " if smsc else "")
                    + f"{figures['errors']:.0f} non-2xx, load {support.load_average():.1f}",
                    flush=True,
                )
            print(
                f"median of {args.rounds}: "
                f"{support.median(r['rate'] for r in rounds):,.0f} req/s, "
                f"p50 {support.median(r['p50'] for r in rounds):.1f} ms, "
                f"p99 {support.median(r['p99'] for r in rounds):.1f} ms, "
                f"CPU {support.median(r['cpu_ms'] for r in rounds):.2f} ms/request "
                f"({args.connections} connections, {args.workers} API process(es), "
                f"{args.worker_processes} worker process(es), "
                f"{args.accounts} account(s), {database_url.split(':')[0]})"
            )
        finally:
            for process in [server, *workers]:
                support.stop(process)
            if smsc:
                smsc.stop()


if __name__ == "__main__":
    main()
