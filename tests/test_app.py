"""`app.tune_gc`, which `dovecote serve` and `dovecote worker` run once loaded: checked in a
fresh interpreter, since freezing the test process would keep every test's garbage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dovecote.app import create_app
from dovecote.settings import Settings

SRC = str(Path(__file__).resolve().parents[1] / "src")

PROBE = """
import gc
from dovecote.app import create_served_app
before = gc.get_freeze_count()
create_served_app()
print(before, gc.get_freeze_count(), *gc.get_threshold())
"""


def test_a_served_app_freezes_its_start_up_objects_and_collects_young_ones_less_often() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    before, frozen, young, middle, old = map(int, done.stdout.split()[-5:])

    assert before == 0
    assert frozen > 100_000  # the modules, routes and schemas loaded at start-up
    assert (young, middle, old) == (20_000, 20, 20)


def test_apps_share_their_routers_inclusions_and_each_serves_every_operation() -> None:
    first = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    second = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", cors_origins=["x"]))

    # What a route needs is worked out once per inclusion (wiring.mount): the ~70
    # inclusions are the same objects in both apps; only FastAPI's own (/docs, …) differ.
    shared = {id(route) for route in first.router.routes} & {
        id(route) for route in second.router.routes
    }
    assert len(shared) == len(first.router.routes) - 4 == len(second.router.routes) - 4
    paths = first.openapi()["paths"]
    assert {"/v3/sms/send", "/v3/messages", "/sendCode"} <= set(paths)
    assert paths == second.openapi()["paths"]
