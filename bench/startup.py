"""Process start-up: what every `dovecote` command, `serve`, `worker` and each test that
starts a server pays before doing anything. Each command runs in a fresh interpreter,
rounds interleaved across the source trees given, so a busy machine slows all alike;
wall and CPU (user + system, from wait4) per run, best and median.

    .venv/bin/python -P bench/startup.py [--rounds 7] [--src DIR ...] [--cached-bytecode]

`--src` puts a source tree first on PYTHONPATH (default: this checkout's src); give two
to compare, e.g. `--src ../main/src --src src`. Without `--cached-bytecode` the
environment is used as it is (with PYTHONDONTWRITEBYTECODE set, every run compiles
Dovecote's modules again); with it, bytecode is written once to a temporary
PYTHONPYCACHEPREFIX and read from there, as an installed server would.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [PYTHON, "-c", "pass"],
    "import dovecote.app": [PYTHON, "-c", "import dovecote.app"],
    "create_app()": [PYTHON, "-c", "from dovecote.app import create_app; create_app()"],
    "dovecote --help": [str(Path(PYTHON).with_name("dovecote")), "--help"],
}


def run(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{command} failed ({status})")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--src", action="append", type=Path)
    parser.add_argument("--cached-bytecode", action="store_true")
    args = parser.parse_args()
    trees: list[Path] = [path.resolve() for path in args.src or [ROOT / "src"]]
    base = dict(os.environ)
    base.pop("PYTHONPATH", None)
    cache = tempfile.TemporaryDirectory(prefix="dovecote-pycache-")
    if args.cached_bytecode:
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        base["PYTHONPYCACHEPREFIX"] = cache.name
    envs = {tree: {**base, "PYTHONPATH": str(tree)} for tree in trees}
    if args.cached_bytecode:  # one run each writes the bytecode the measured runs read
        for tree in trees:
            run(COMMANDS["create_app()"], envs[tree])
            run(COMMANDS["dovecote --help"], envs[tree])
    load = os.getloadavg()[0]
    print(f"load average {load:.1f}, {args.rounds} rounds, cached bytecode: {args.cached_bytecode}")
    results: dict[tuple[str, Path], list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for name, command in COMMANDS.items():
            for tree in trees:
                results.setdefault((name, tree), []).append(run(command, envs[tree]))
    for (name, tree), runs in results.items():
        walls = [wall for wall, _ in runs]
        cpus = [cpu for _, cpu in runs]
        print(
            f"{name:20s} {tree!s:40s} wall best {min(walls):.3f} s, median "
            f"{statistics.median(walls):.3f} s | CPU best {min(cpus):.3f} s, median "
            f"{statistics.median(cpus):.3f} s"
        )
    cache.cleanup()


if __name__ == "__main__":
    main()
