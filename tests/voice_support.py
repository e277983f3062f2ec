"""Shared by the voice and fax tests: settings with a file store of the test's own, and
SDK 5.0.91 (the only ClickSend SDK with fax) imported from `.venv/sdk5`."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from dovecote.settings import Settings

SDK5_PATH = Path(__file__).resolve().parents[1] / ".venv" / "sdk5"


def with_files(settings: Settings, root: Path, **changes: Any) -> Settings:
    return settings.model_copy(update={"files_dir": str(root / "files"), **changes})


def sdk5_client(url: str, settings: Settings) -> tuple[ModuleType, Any]:
    if not SDK5_PATH.is_dir():
        pytest.fail(f"SDK 5.0.91 is missing under {SDK5_PATH} (make test installs it)")
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    sdk5: ModuleType = importlib.import_module("clicksend_client")
    config = sdk5.Configuration()
    config.host = url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    return sdk5, sdk5.ApiClient(config)


def sdk5_body(answer: str) -> dict[str, Any]:
    """SDK 5 hands back `str(parsed_json)`, a Python repr."""
    body: dict[str, Any] = ast.literal_eval(answer)
    return body
