"""The operator makes an account a reseller with the CLI: `dovecote accounts set NAME
reseller=true`, and takes it back with `reseller=`."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from dovecote.app import create_app
from dovecote.cli import app as cli
from dovecote.settings import Settings


def _run(database: Path, *args: str) -> str:
    result = CliRunner().invoke(
        cli, list(args), env={"DOVECOTE_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    )
    assert result.exit_code == 0, result.output
    return result.output


def _reseller_status(database: Path, username: str, key: str) -> int:
    async def call() -> int:
        settings = Settings(database_url=f"sqlite+aiosqlite:///{database}", worker_enabled=False)
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", auth=(username, key)
            ) as http:
                return (await http.get("/v3/reseller")).status_code

    return asyncio.run(call())


def test_the_operator_turns_reselling_on_and_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("DOVECOTE_"):  # nothing from the outer environment leaks in
            monkeypatch.delenv(name)
    database = tmp_path / "cli.db"
    created = _run(database, "accounts", "create", "carol")
    key = next(
        line.split(":", 1)[1].strip() for line in created.splitlines() if "api key" in line.lower()
    )
    before = _reseller_status(database, "carol", key)
    on = _run(database, "accounts", "set", "carol", "reseller=true")
    during = _reseller_status(database, "carol", key)
    _run(database, "accounts", "set", "carol", "reseller=")
    after = _reseller_status(database, "carol", key)

    assert "reseller: True" in on
    assert (before, during, after) == (403, 200, 403)
