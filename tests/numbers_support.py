"""Helpers for the numbers tests: an inventory loaded the way `dovecote numbers import` does.

Importable as `numbers_support` because pyproject's `pythonpath` puts `tests/` on sys.path.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from dovecote.numbers import inventory
from dovecote.settings import Settings
from dovecote.storage.db import create_engine

INVENTORY = """number,country,type,capabilities,monthly_price,connector
+12025550101,US,longcode,sms;mms,2.50,smpp-us
+12025550188,US,longcode,sms,2.50,
+13105550123,US,tollfree,sms;voice,4.00,
+61481070206,AU,mobile,sms,18.59,smpp-au
"""


async def load(app: FastAPI, text: str = INVENTORY) -> tuple[int, int]:
    async with app.state.runtime.engine.begin() as conn:
        return await inventory.import_csv(conn, text)


async def load_into(database_url: str, text: str = INVENTORY) -> None:
    """For live-server tests, whose app and engine live in another thread."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await inventory.import_csv(conn, text)
    finally:
        await engine.dispose()


SDK5_PATH = Path(__file__).resolve().parents[1] / ".venv" / "sdk5"


def sdk5() -> Any:
    """The SDK 5.0.91 package (installed beside the venv, not in it)."""
    if not SDK5_PATH.is_dir():
        raise AssertionError(f"SDK 5.0.91 is missing at {SDK5_PATH} (make test installs it)")
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    return importlib.import_module("clicksend_client")


def sdk5_client(module: Any, url: str, settings: Settings) -> Any:
    config = module.Configuration()
    config.host = url + "/v3"
    config.username, config.password = settings.owner_username, settings.owner_api_key
    return module.ApiClient(config)


def sdk5_result(raw: Any) -> Any:
    """SDK 5 returns `str(dict)` (a Python repr): read it back with `literal_eval`."""
    assert isinstance(raw, str)
    return ast.literal_eval(raw)
