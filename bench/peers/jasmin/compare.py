"""Jasmin 0.11.1 beside Dovecote: the same single-SMS load on both HTTP APIs, each with an
SMPP connector to its own SMSC simulator, rounds alternated.

Jasmin is installed from PyPI into bench/peers/jasmin/.venv (gitignored; none of its code
is in this repository) and runs as `jasmind.py` against the machine's RabbitMQ
(127.0.0.1:5672, guest/guest) and Redis (127.0.0.1:6379, database --redis-db); its
config, store and logs live in a temporary directory (ROOT_PATH). jCli (telnet) adds a
group, a user, the SMPP connector (`submit_throughput 0`: unthrottled; its default is
1 msg/s) and a DefaultRoute to it. Dovecote runs `dovecote serve` on a fresh SQLite file,
worker in-process, SMS through the smpp transport (DOVECOTE_TRANSPORTS={"sms":"smpp"}).

Both are driven by `wrk` (closed loop, the same connections): Jasmin with
`GET /send?username=…&password=…&to=…&content=…`, Dovecote with `POST /v3/sms/send`,
one message per request, a new text each. Per round: req/s, p50/p99, server CPU per
accepted message (Jasmin: jasmind + RabbitMQ's beam.smp + redis-server; Dovecote: the
serve process), and the rate at which submit_sm reached the SMSC during the round.

    .venv/bin/python bench/peers/jasmin/compare.py [--connections 32] [--duration 15]
        [--rounds 3] [--jasmin-log-level INFO]
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # bench/, for `support`

import support  # noqa: E402

VENV = HERE / ".venv"
JASMIN = "jasmin==0.11.1"
USER, PASSWORD = "bench", "benchpw"

CONFIG = """
[jcli]
bind = 127.0.0.1
port = {jcli_port}
authentication = False
log_level = {log_level}
[http-api]
bind = 127.0.0.1
port = {http_port}
log_level = {log_level}
[amqp-broker]
host = 127.0.0.1
port = 5672
username = guest
password = guest
vhost = /
spec = {spec}
log_level = {log_level}
[redis-client]
host = 127.0.0.1
port = 6379
dbid = {redis_db}
log_level = {log_level}
[smpp-server]
bind = 127.0.0.1
port = {smpp_port}
log_level = {log_level}
[smpp-server-pb]
bind = 127.0.0.1
log_level = {log_level}
[router]
bind = 127.0.0.1
log_level = {log_level}
[client-management]
bind = 127.0.0.1
log_level = {log_level}
[sm-listener]
log_level = {log_level}
[dlr]
log_level = {log_level}
[service-smppclient]
log_level = {log_level}
"""

JASMIN_LUA = f"""
function request()
  counter = counter + 1
  local path = "/send?username={USER}&password={PASSWORD}&to=1415555" ..
    string.format("%04d", counter % 10000) .. "&content=Bench+" .. thread_id .. "-" .. counter
  return wrk.format("GET", path)
end
"""

AUTH = "Basic " + base64.b64encode(f"{support.OWNER}:{support.KEY}".encode()).decode()
DOVECOTE_LUA = """
function request()
  counter = counter + 1
  local body = '{"messages":[{"to":"+1415555' .. string.format("%04d", counter % 10000) ..
    '","body":"Bench ' .. thread_id .. '-' .. counter .. '"}]}'
  return wrk.format("POST", "/v3/sms/send",
    {["Content-Type"] = "application/json", ["Authorization"] = "AUTH"}, body)
end
""".replace("AUTH", AUTH)


def raw_request(n: int) -> bytes:
    """The same request as JASMIN_LUA's, for bench/open_loop.py's own client."""
    path = f"/send?username={USER}&password={PASSWORD}&to=1415555{n % 10000:04d}"
    return f"GET {path}&content=Open+loop+{n} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def install() -> Path:
    """Jasmin's own venv (its Twisted and Celery pins would clash with Dovecote's)."""
    python = VENV / "bin" / "python"
    if not (VENV / "bin" / "jasmind.py").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", JASMIN], check=True)
    return python


def amqp_spec(python: Path) -> str:
    """The AMQP 0-9-1 spec file txAMQP ships (Jasmin's own copy is not in its wheel)."""
    found = subprocess.run(
        [str(python), "-c", "import txamqp, os; print(os.path.dirname(txamqp.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return str(Path(found.stdout.strip()) / "specs" / "standard" / "amqp0-9-1.stripped.xml")


class JCli:
    """jCli over its telnet port: one command a line, answered up to the next prompt."""

    def __init__(self, port: int) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        # The greeting (after telnet option requests) ends without a prompt; an empty
        # line brings one.
        data = b""
        while b"Session ref" not in data:
            data += self.sock.recv(65536)
        self.sock.sendall(b"\r\n")
        self._read()

    def _read(self) -> str:
        data = b""
        while not (data.rstrip(b" ").endswith((b"jcli :", b">"))):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")

    def run(self, *lines: str) -> str:
        out = ""
        for line in lines:
            self.sock.sendall(line.encode() + b"\r\n")
            answer = self._read()
            if "Error" in answer or "Unknown" in answer or "Incorrect" in answer:
                raise RuntimeError(f"jcli {line!r}: {answer}")
            out += answer
        return out


def start_jasmin(python: Path, root: Path, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    (root / "etc" / "jasmin" / "store").mkdir(parents=True)
    (root / "var" / "log" / "jasmin").mkdir(parents=True)
    config = root / "etc" / "jasmin" / "jasmin.cfg"
    config.write_text(
        CONFIG.format(
            jcli_port=args.jcli_port,
            http_port=args.http_port,
            spec=amqp_spec(python),
            redis_db=args.redis_db,
            log_level=args.jasmin_log_level,
            smpp_port=support.free_port(),  # unused, but jCli needs the SMPP server up
        )
    )
    env = {**os.environ, "ROOT_PATH": str(root), "LOG_PATH": str(root / "var" / "log" / "jasmin")}
    daemon = subprocess.Popen(
        [str(python), str(VENV / "bin" / "jasmind.py"), "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(root / "jasmind.err", "wb"),  # noqa: SIM115 - lives as long as the daemon
    )
    return daemon


def configure_jasmin(port: int, smsc: support.Smsc) -> None:
    cli = JCli(port)
    cli.run("group -a", "gid bench", "ok")
    cli.run("user -a", f"username {USER}", f"password {PASSWORD}", "gid bench", "uid bench", "ok")
    cli.run(
        "smppccm -a",
        "cid smsc",
        "host 127.0.0.1",
        f"port {smsc.port}",
        "username dovecote",
        "password secret",
        "submit_throughput 0",
        "ok",
    )
    shown = cli.run("smppccm -s smsc")
    assert "submit_throughput 0" in shown, shown  # unthrottled, not the 1 msg/s default
    cli.run("smppccm -1 smsc")
    cli.run("mtrouter -a", "type DefaultRoute", "connector smppc(smsc)", "rate 0.00", "ok")
    deadline = time.monotonic() + 30  # the connector binds in the background
    while "BOUND_TRX" not in cli.run("smppccm --list"):
        if time.monotonic() > deadline:
            raise RuntimeError("Jasmin's connector did not bind to the SMSC")
        time.sleep(0.5)


def jasmin_pids(daemon: subprocess.Popen[bytes]) -> list[int]:
    return [daemon.pid, *support.pids_named("beam.smp"), *support.pids_named("redis-server")]


def drain(smsc: support.Smsc, target: int, patience: float = 10) -> int:
    """Wait until the SMSC has `target` submit_sm, or nothing arrived for `patience` s."""
    seen, progress = smsc.accepted(), time.monotonic()
    while seen < target and time.monotonic() - progress < patience:
        time.sleep(0.2)
        now = smsc.accepted()
        if now > seen:
            seen, progress = now, time.monotonic()
    return seen


def measure(
    name: str, url: str, lua: str, pids: list[int], smsc: support.Smsc, args: argparse.Namespace
) -> dict[str, float]:
    load = support.load_average()
    cpu_before = [support.cpu_seconds(pid) for pid in pids]
    sent_before = smsc.accepted()
    started = time.monotonic()
    figures = support.run_wrk(url, args.connections, args.duration, lua)
    during = smsc.accepted() - sent_before
    accepted = int(figures["total"] - figures["errors"])
    # CPU is counted until what was accepted has reached the SMSC: a server that only
    # queues during the round pays for the sending afterwards.
    reached = drain(smsc, sent_before + accepted) - sent_before
    end_to_end = time.monotonic() - started
    cpu = [support.cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True)]
    figures.update(
        cpu_ms=sum(cpu) * 1000 / max(1, accepted),
        main_cpu_ms=cpu[0] * 1000 / max(1, accepted),
        during=during / args.duration,
        delivered=reached / end_to_end,
        reached=reached,
        accepted=accepted,
        load=load,
    )
    print(
        f"{name:8} {figures['rate']:6,.0f} req/s  p50 {figures['p50']:6.1f} ms  "
        f"p99 {figures['p99']:7.1f} ms  CPU {figures['cpu_ms']:5.2f} ms/msg "
        f"(main process {figures['main_cpu_ms']:.2f})  SMSC {figures['during']:5,.0f} msg/s "
        f"during, {figures['delivered']:5,.0f} msg/s end to end ({reached} of {accepted} "
        f"in {end_to_end:.1f} s)  {figures['errors']:.0f} errors  load {load:.1f}",
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http-port", type=int, default=1401)
    parser.add_argument("--jcli-port", type=int, default=8990)
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--jasmin-log-level", default="INFO")
    args = parser.parse_args()
    python = install()
    smscs = [support.Smsc(), support.Smsc()]
    with tempfile.TemporaryDirectory() as tmp:
        processes = []
        try:
            daemon = start_jasmin(python, Path(tmp) / "jasmin", args)
            processes.append(daemon)
            configure_jasmin(args.jcli_port, smscs[0])
            http_port = args.http_port
            env = support.dovecote_env(
                f"sqlite+aiosqlite:///{Path(tmp) / 'dovecote.db'}", **support.smpp_env(smscs[1])
            )
            port = support.free_port()
            server = support.start_dovecote(env, port)
            processes.append(server)
            sides = {
                "jasmin": (
                    f"http://127.0.0.1:{http_port}",
                    JASMIN_LUA,
                    jasmin_pids(daemon),
                    smscs[0],
                ),
                "dovecote": (f"http://127.0.0.1:{port}", DOVECOTE_LUA, [server.pid], smscs[1]),
            }
            for url, lua, _, smsc in sides.values():  # warm-up, drained before the rounds
                before = smsc.accepted()
                figures = support.run_wrk(url, args.connections, 3, lua)
                drain(smsc, before + int(figures["total"] - figures["errors"]))
            results: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
            for _ in range(args.rounds):
                for name, (url, lua, pids, smsc) in sides.items():
                    results[name].append(measure(name, url, lua, pids, smsc, args))
            medians = {
                name: {key: support.median(r[key] for r in rounds) for key in rounds[0]}
                for name, rounds in results.items()
            }
            for name, m in medians.items():
                print(
                    f"median {name}: {m['rate']:,.0f} req/s, p50 {m['p50']:.1f} ms, "
                    f"p99 {m['p99']:.1f} ms, {m['cpu_ms']:.2f} ms CPU/msg, "
                    f"{m['during']:,.0f} msg/s at the SMSC during the round, "
                    f"{m['delivered']:,.0f} msg/s end to end"
                )
            d, j = medians["dovecote"], medians["jasmin"]
            print(
                f"dovecote / jasmin: req/s {d['rate'] / j['rate']:.2f}×, "
                f"CPU per message {d['cpu_ms'] / j['cpu_ms']:.2f}×, "
                f"SMSC rate {d['delivered'] / max(1e-9, j['delivered']):.2f}×"
            )
        finally:
            for process in reversed(processes):
                support.stop(process)
            for smsc in smscs:
                smsc.stop()


if __name__ == "__main__":
    main()
