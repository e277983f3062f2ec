"""Open loop, end to end: single SMS sent on a fixed schedule, and whether what is queued but
not yet at the SMSC (the backlog) stays flat.

A closed-loop client (wrk) slows down when the server does, so it measures what the server
accepts, never whether it keeps up. Here request i leaves at t0 + i / rate whatever the
answers do (a new connection opens when none is idle), latency is counted from the
scheduled time (so a stall is not hidden), and once a second the backlog is sampled:
requests accepted minus submit_sm counted by the SMSC simulator (its own process). A rate
is sustained when the answers keep up (no errors, the median latency of the last third of
the step under 500 ms) and the backlog grows by less than 5 % of the rate per second over
the second half of the step.

    .venv/bin/python bench/open_loop.py [--server dovecote|jasmin] [--rates 50,100,200]
        [--duration 30] [--stop-at-first-miss] [--worker-process]

Dovecote: `dovecote serve` on a fresh SQLite file, one process, worker in-process (or, with
`--worker-process`, `serve --no-worker` beside a `dovecote worker` process), SMS through the
smpp transport. Jasmin: as bench/peers/jasmin/compare.py sets it up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import support

MAX_CONNECTIONS = 512


class Client:
    """A minimal HTTP/1.1 keep-alive client (Content-Length or chunked answers): httpx
    costs ~10× its CPU per request, and the generator shares the server's two cores."""

    def __init__(self, port: int) -> None:
        self.port = port
        # (reader, writer, when it was last used), oldest first
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.opened = 0
        self.freed = asyncio.Event()

    async def send(self, raw: bytes) -> int:
        while not self.idle and self.opened >= MAX_CONNECTIONS:
            self.freed.clear()
            await self.freed.wait()
        # uvicorn closes a keep-alive connection idle for 5 s: such a one would answer
        # nothing, so connections idle for 4 s are closed here instead of reused.
        while self.idle and time.monotonic() - self.idle[0][2] > 4:
            self.opened -= 1
            self.idle.pop(0)[1].close()
        if self.idle:
            reader, writer, _ = self.idle.pop()
        else:
            self.opened += 1
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            status = await self._exchange(reader, writer, raw)
        except BaseException:
            self.opened -= 1  # a broken or abandoned connection is not reused
            writer.close()
            raise
        self.idle.append((reader, writer, time.monotonic()))
        self.freed.set()
        return status

    @staticmethod
    async def _exchange(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
    ) -> int:
        writer.write(raw)
        status = int((await reader.readline()).split()[1])
        length, chunked = 0, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if chunked:
            while size := int((await reader.readline()).strip(), 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        else:
            await reader.readexactly(length)
        return status


def dovecote_request(n: int) -> bytes:
    body = f'{{"messages":[{{"to":"+1415555{n % 10000:04d}","body":"Open loop {n}"}}]}}'.encode()
    auth = base64.b64encode(f"{support.OWNER}:{support.KEY}".encode()).decode()
    return (
        f"POST /v3/sms/send HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@dataclass
class Step:
    rate: float
    scheduled: int = 0
    accepted: int = 0
    errors: int = 0
    kinds: dict[str, int] = field(default_factory=dict)  # what the errors were
    latencies: list[float] = field(default_factory=list)
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (seconds in, backlog)

    def growth(self) -> float:
        """Backlog growth (messages per second) over the second half of the step."""
        half = [(t, b) for t, b in self.backlog if t >= self.backlog[-1][0] / 2]
        if len(half) < 2:
            return 0.0
        (t0, b0), (t1, b1) = half[0], half[-1]
        return (b1 - b0) / max(1e-9, t1 - t0)

    def late_p50(self) -> float:
        """Median latency of the last third of the answers: it grows without bound when
        the API falls behind the schedule, and stays put when it keeps up."""
        return percentile(self.latencies[-len(self.latencies) // 3 :], 0.5)

    def sustained(self) -> bool:
        return (
            self.errors == 0
            and self.accepted >= 0.97 * self.scheduled
            and self.late_p50() < 0.5
            and self.growth() < 0.05 * self.rate
        )


async def run_step(
    port: int, request: Callable[[int], bytes], smsc: support.Smsc, rate: float, duration: float
) -> Step:
    client = Client(port)
    step = Step(rate)
    base = await asyncio.to_thread(smsc.accepted)

    async def one(n: int, due: float) -> None:
        try:
            status = await asyncio.wait_for(client.send(request(n)), 30)
        except (TimeoutError, OSError, ValueError, IndexError, EOFError) as exc:
            step.errors += 1
            step.kinds[type(exc).__name__] = step.kinds.get(type(exc).__name__, 0) + 1
            return
        if 200 <= status < 300:
            step.accepted += 1
            step.latencies.append(time.monotonic() - due)
        else:
            step.errors += 1
            step.kinds[str(status)] = step.kinds.get(str(status), 0) + 1

    async def sample(started: float) -> None:
        while True:
            await asyncio.sleep(1)
            reached = await asyncio.to_thread(smsc.accepted) - base
            step.backlog.append((time.monotonic() - started, step.accepted - reached))

    started = time.monotonic()
    sampler = asyncio.create_task(sample(started))
    tasks = []
    total = int(rate * duration)
    for n in range(total):
        due = started + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, due)))
        step.scheduled += 1
    await asyncio.gather(*tasks)
    sampler.cancel()
    return step


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def report(name: str, step: Step, cpu_ms: float, load: float) -> None:
    backlog = [b for _, b in step.backlog]
    print(
        f"{name} {step.rate:6,.0f}/s: accepted {step.accepted}/{step.scheduled} "
        f"({step.errors} errors{' ' + str(step.kinds) if step.kinds else ''}), p50 {percentile(step.latencies, 0.5) * 1000:6.1f} ms, "
        f"p99 {percentile(step.latencies, 0.99) * 1000:7.1f} ms "
        f"(last third p50 {step.late_p50() * 1000:.0f} ms), backlog "
        f"{backlog[len(backlog) // 2] if backlog else 0} → {backlog[-1] if backlog else 0} "
        f"(growth {step.growth():+.1f}/s), CPU {cpu_ms:.2f} ms/msg, load {load:.1f}: "
        + ("sustained" if step.sustained() else "NOT sustained"),
        flush=True,
    )


def sweep(
    name: str,
    port: int,
    request: Callable[[int], bytes],
    smsc: support.Smsc,
    pids: list[int],
    args: argparse.Namespace,
) -> None:
    for rate in (float(r) for r in args.rates.split(",")):
        time.sleep(3)  # the last step's backlog drains first
        load = support.load_average()
        cpu_before = sum(support.cpu_seconds(pid) for pid in pids)
        step = asyncio.run(run_step(port, request, smsc, rate, args.duration))
        cpu = sum(support.cpu_seconds(pid) for pid in pids) - cpu_before
        report(name, step, cpu * 1000 / max(1, step.accepted), load)
        if args.stop_at_first_miss and not step.sustained():
            break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", choices=["dovecote", "jasmin"], default="dovecote")
    parser.add_argument("--rates", default="25,50,75,100,150,200")
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--stop-at-first-miss", action="store_true")
    parser.add_argument(
        "--worker-process",
        action="store_true",
        help="Dovecote: deliver from a `dovecote worker` process beside `serve --no-worker`",
    )
    args = parser.parse_args()
    smsc = support.Smsc()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            if args.server == "dovecote":
                env = support.dovecote_env(
                    f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", **support.smpp_env(smsc)
                )
                port = support.free_port()
                server = support.start_dovecote(env, port, worker=not args.worker_process)
                workers = [support.start_worker(env)] if args.worker_process else []
                try:
                    pids = [server.pid, *(worker.pid for worker in workers)]
                    sweep("dovecote", port, dovecote_request, smsc, pids, args)
                finally:
                    for process in [*workers, server]:
                        support.stop(process)
            else:
                from peers.jasmin import compare as jasmin

                jasmin_args = argparse.Namespace(
                    http_port=1401, jcli_port=8990, redis_db=9, jasmin_log_level="INFO"
                )
                daemon = jasmin.start_jasmin(jasmin.install(), Path(tmp) / "j", jasmin_args)
                try:
                    jasmin.configure_jasmin(8990, smsc)
                    sweep(
                        "jasmin", 1401, jasmin.raw_request, smsc, jasmin.jasmin_pids(daemon), args
                    )
                finally:
                    support.stop(daemon)
        finally:
            smsc.stop()


if __name__ == "__main__":
    main()
