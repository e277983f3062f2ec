"""What the process-level benches share: ports, servers, the SMSC simulator, CPU from /proc,
`wrk`, and the machine's load average (recorded beside every figure: the machine is shared).

Scripts run as `python bench/<name>.py`, so `bench/` is on sys.path and they
`import support`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR = ROOT / "tests" / "smsc_support.py"
OWNER, KEY = "bench", "BE7C4BE7-0000-4000-8000-000000000001"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def median(values: Iterable[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(
        ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    )


def load_average() -> float:
    return os.getloadavg()[0]


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: [0] is the state, [1] the parent, [11] and
    [12] user and system ticks, [13] and [14] those of its children it has reaped."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and all its live descendants."""
    total = 0.0
    try:
        fields = _stat(pid)
        total += (int(fields[11]) + int(fields[12])) / TICKS
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (FileNotFoundError, ProcessLookupError):
        return total
    return total + sum(cpu_seconds(int(child)) for child in children)


def pids_named(name: str) -> list[int]:
    """Processes whose command name is `name` (e.g. RabbitMQ's `beam.smp`)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Smsc:
    """The SMSC simulator (tests/smsc_support.py) in its own process, fast mode: it answers
    every submit_sm from the header and counts what it accepted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, str(SIMULATOR), str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def accepted(self) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def dovecote_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DOVECOTE_DATABASE_URL": database_url,
        "DOVECOTE_OWNER_USERNAME": OWNER,
        "DOVECOTE_OWNER_API_KEY": KEY,
        "DOVECOTE_OWNER_BALANCE": "100000000",
        "DOVECOTE_RATE_LIMIT": "1000000/second",
        "DOVECOTE_SANDBOX_RECEIPT_DELAY": "0",
        "DOVECOTE_SMS_THROTTLE_WINDOW": "0",
        **extra,
    }


def smpp_env(smsc: Smsc) -> dict[str, str]:
    """Settings that send SMS through the smpp transport to the simulator."""
    return {
        "DOVECOTE_TRANSPORTS": '{"sms": "smpp"}',
        "DOVECOTE_SMPP_HOST": "127.0.0.1",
        "DOVECOTE_SMPP_PORT": str(smsc.port),
        "DOVECOTE_SMPP_SYSTEM_ID": "dovecote",
        "DOVECOTE_SMPP_PASSWORD": "secret",
        "DOVECOTE_SMPP_WINDOW": "64",
    }


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    stop(process)  # SIGTERM first: uvicorn's --workers children die with their parent
    raise RuntimeError(f"{url} did not answer")


def start_dovecote(
    env: dict[str, str], port: int, *, workers: int = 1, worker: bool = True
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "dovecote.cli", "serve", "--port", str(port)]
    command += ["--worker" if worker else "--no-worker"]
    if workers > 1:
        command += ["--workers", str(workers)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    wait_healthy(f"http://127.0.0.1:{port}/healthz", process)
    return process


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A `dovecote worker` process (scale-out: several against one PostgreSQL)."""
    command = [sys.executable, "-m", "dovecote.cli", "worker"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# A wrk script: `request()` is the caller's Lua, which builds one request per call
# (`counter` counts them per thread). `done` prints the percentiles wrk does not.
WRK_FRAME = """
local counter = 0
local thread_id = 0
function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end
%s
function done(summary, latency, requests)
  io.write(string.format("p50 %%d p99 %%d\\n", latency:percentile(50), latency:percentile(99)))
end
"""


def run_wrk(
    url: str, connections: int, duration: int, request_lua: str, threads: int = 2
) -> dict[str, float]:
    """Closed loop: `connections` keep-alive connections, each sending its next request
    as soon as the last is answered, for `duration` seconds."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_FRAME % request_lua)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s"]
    command += ["-s", script.name, "--timeout", "10s", url]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
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


# PostgreSQL on this host, trust auth (as tests/conftest.py uses it).
PG_HOST, PG_USER = "127.0.0.1", "postgres"


def psql(sql: str, database: str = "postgres") -> str:
    result = subprocess.run(
        ["psql", "-h", PG_HOST, "-U", PG_USER, "-d", database, "-AtXc", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def create_pg_database() -> tuple[str, str]:
    """A throwaway database: (its name, its DOVECOTE_DATABASE_URL)."""
    name = f"bench_{os.getpid()}_{int(time.time())}"
    psql(f'CREATE DATABASE "{name}"')
    return name, f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:5432/{name}"


def drop_pg_database(name: str) -> None:
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_postmaster() -> int:
    """The PostgreSQL server's first process, parent of every backend (it must run on this
    machine: its CPU is read from /proc). Found as the checkpointer's parent: a backend of
    our own is gone, with its /proc entry, once psql exits."""
    found = psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
    return int(_stat(int(found))[1])


def pg_cluster_cpu_seconds(postmaster: int) -> float:
    """User + system CPU the whole PostgreSQL server has used so far: the postmaster's own,
    its live children's, and its ended children's (the kernel adds a child's CPU to its
    parent's cutime + cstime when the parent reaps it). Summing the backends alive at one
    moment goes wrong: the pool closes and opens connections, and a backend gone by the end
    takes all its CPU with it. /proc has nothing of an ended process, so the postmaster's
    count of reaped children is the only way to see it."""
    while True:
        before = _stat(postmaster)
        live = 0
        for child in Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split():
            try:
                fields = _stat(int(child))
            except (FileNotFoundError, ProcessLookupError):
                continue  # reaped meanwhile: the check below reads again
            live += sum(int(tick) for tick in fields[11:15])
        after = _stat(postmaster)
        # A child reaped between the reads would be missed or counted twice.
        if after[13:15] == before[13:15]:
            return (sum(int(tick) for tick in after[11:15]) + live) / TICKS


def pg_sessions(name: str) -> int:
    """Connections opened to database `name` so far (each a new backend: a fork and its
    caches warmed, CPU that `pg_cluster_cpu_seconds` sees)."""
    return int(
        psql("SELECT sessions FROM pg_stat_database WHERE datname = current_database()", name)
    )


def pg_activity(name: str) -> tuple[int, int, int]:
    """Right now: database `name`'s backends waiting on a lock and its active backends, and
    the active backends of every other database (their CPU is in the server's too)."""
    found = psql(
        "SELECT count(*) FILTER (WHERE mine AND wait_event_type = 'Lock'), "
        "count(*) FILTER (WHERE mine AND state = 'active') - 1, "  # less this query's own
        "count(*) FILTER (WHERE NOT mine AND state = 'active') "
        "FROM (SELECT *, datname = current_database() AS mine FROM pg_stat_activity "
        "WHERE datname IS NOT NULL) AS backends",
        name,
    )
    waiting, active, others = found.split("|")
    return int(waiting), int(active), int(others)
