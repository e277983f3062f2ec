"""Single-message sends under `wrk`: req/s, p50/p99 and server CPU per request.

Starts a real `dovecote serve` (worker in-process unless --no-worker) on a fresh database
(SQLite by default, or a throwaway PostgreSQL database named by --database-url), drives
`POST /v3/sms/send` with one message per request from `wrk` (apt-get install wrk), each
request a new body so the SMS throttle lets all through, and prints one line per round.
Server CPU is read from /proc (the serve process and every child it spawned).

    .venv/bin/python bench/single_send.py [--connections 32] [--duration 20] [--rounds 3]
        [--database-url postgresql+asyncpg://…/db] [--workers N] [--no-worker]
        [--accounts K]
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

OWNER, KEY = "bench", "BE7C4BE7-0000-4000-8000-000000000001"
TICKS = os.sysconf("SC_CLK_TCK")

WRK_SCRIPT = """
local counter = 0
local headers = {}
local thread_id = 0
local auths = {%(auths)s}
function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end
function request()
  counter = counter + 1
  local auth = auths[(counter %% #auths) + 1]
  local body = '{"messages":[{"to":"+1415555' .. string.format("%%04d", counter %% 10000) ..
    '","body":"Bench ' .. thread_id .. '-' .. counter .. '"}]}'
  return wrk.format("POST", "/v3/sms/send",
    {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
end
function done(summary, latency, requests)
  io.write(string.format("p50 %%d p99 %%d\\n", latency:percentile(50), latency:percentile(99)))
end
"""


def median(values: object) -> float:
    ordered = sorted(values)  # type: ignore[call-overload]
    middle = len(ordered) // 2
    return float(
        ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and all its live descendants."""
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICKS
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return total
    return total + sum(cpu_seconds(int(child)) for child in children)


def start_server(
    database_url: str, port: int, *, workers: int, worker: bool
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DOVECOTE_DATABASE_URL": database_url,
        "DOVECOTE_OWNER_USERNAME": OWNER,
        "DOVECOTE_OWNER_API_KEY": KEY,
        "DOVECOTE_OWNER_BALANCE": "100000000",
        "DOVECOTE_RATE_LIMIT": "1000000/second",
        "DOVECOTE_SANDBOX_RECEIPT_DELAY": "0",
    }
    command = [sys.executable, "-m", "dovecote.cli", "serve", "--port", str(port)]
    command += ["--worker" if worker else "--no-worker"]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("server did not start")


def run_wrk(url: str, connections: int, duration: int, auths: list[str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"auths": ", ".join(f'"{a}"' for a in auths)})
    threads = 2
    result = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "-s",
            script.name,
            "--timeout",
            "10s",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    os.unlink(script.name)
    out = result.stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    p50, p99 = re.search(r"p50 (\d+) p99 (\d+)", out).groups()  # type: ignore[union-attr]
    if errors or socket_errors:
        print(
            "  wrk:",
            errors.group(0) if errors else "",
            socket_errors.group(0) if socket_errors else "",
        )
    return {
        "rate": rate,
        "total": total,
        "p50": int(p50) / 1000,
        "p99": int(p99) / 1000,
        "errors": int(errors.group(1)) if errors else 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-worker", action="store_true")
    parser.add_argument("--accounts", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        port = free_port()
        server = start_server(database_url, port, workers=args.workers, worker=not args.no_worker)
        url = f"http://127.0.0.1:{port}"
        try:
            credentials = [(OWNER, KEY)]
            for n in range(1, args.accounts):
                created = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "dovecote.cli",
                        "accounts",
                        "create",
                        f"bench{n}",
                        "--balance",
                        "100000000",
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=os.environ | {"DOVECOTE_DATABASE_URL": database_url},
                )
                key = re.search(r"api key:\s+(\S+)", created.stdout)
                assert key is not None, created.stdout
                credentials.append((f"bench{n}", key.group(1)))
            auths = [
                "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
                for user, secret in credentials
            ]
            run_wrk(url, args.connections, 3, auths)  # warm-up: caches, pools, JIT-free paths
            rounds = []
            for n in range(args.rounds):
                cpu_before = cpu_seconds(server.pid)
                figures = run_wrk(url, args.connections, args.duration, auths)
                cpu = cpu_seconds(server.pid) - cpu_before
                figures["cpu_ms"] = cpu * 1000 / max(1, figures["total"])
                rounds.append(figures)
                print(
                    f"round {n + 1}: {figures['rate']:,.0f} req/s, p50 {figures['p50']:.1f} ms, "
                    f"p99 {figures['p99']:.1f} ms, server CPU {figures['cpu_ms']:.2f} ms/request"
                    f" ({figures['errors']:.0f} non-2xx)",
                    flush=True,
                )
            print(
                f"median of {args.rounds}: "
                f"{median(r['rate'] for r in rounds):,.0f} req/s, "
                f"p50 {median(r['p50'] for r in rounds):.1f} ms, "
                f"p99 {median(r['p99'] for r in rounds):.1f} ms, "
                f"CPU {median(r['cpu_ms'] for r in rounds):.2f} ms/request "
                f"({args.connections} connections, {args.workers} process(es), "
                f"{args.accounts} account(s), {database_url.split(':')[0]})"
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
