"""The `dovecote` command: migrate, accounts, keys, and the first start's owner credentials.

These run on a fresh SQLite file each: the CLI's work is the same on PostgreSQL, and the
HTTP tests cover both backends.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from dovecote import bootstrap, wiring
from dovecote.app import create_app
from dovecote.cli import app as cli
from dovecote.pipeline.pricing import PriceBook
from dovecote.pipeline.routing.health import Board
from dovecote.settings import Settings
from dovecote.storage.db import create_engine


@pytest.fixture
def database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("DOVECOTE_"):  # nothing from the outer environment leaks in
            monkeypatch.delenv(name)
    return tmp_path / "cli.db"


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def run(database: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env={"DOVECOTE_DATABASE_URL": url(database)})
    return result


def field(output: str, label: str, after: str | None = None) -> str:
    """The value of `label: value` in output, optionally only after the line `after`."""
    lines = [line.strip() for line in output.splitlines()]
    if after is not None:
        lines = lines[lines.index(after) + 1 :]
    for line in lines:
        if line.startswith(f"{label}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {label!r} in {output!r}")


def status_for(database: Path, username: str, secret: str) -> tuple[int, str | None]:
    """GET /v3/account as username:secret against the database; status and balance."""

    async def call() -> tuple[int, str | None]:
        application = create_app(Settings(database_url=url(database), worker_enabled=False))
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver", auth=(username, secret)
            ) as http:
                response = await http.get("/v3/account")
        balance = response.json()["data"]["balance"] if response.status_code == 200 else None
        return response.status_code, balance

    result: tuple[int, str | None] = asyncio.run(call())
    return result


def test_migrate_creates_the_schema(database_file: Path) -> None:
    result = run(database_file, "migrate")

    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    with sqlite3.connect(database_file) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"accounts", "users", "api_keys", "messages", "events"} <= tables
    assert version is not None
    # Running it again is harmless.
    assert run(database_file, "migrate").exit_code == 0


def test_accounts_create_prints_credentials_that_authenticate(database_file: Path) -> None:
    assert run(database_file, "migrate").exit_code == 0

    result = run(database_file, "accounts", "create", "bob", "--balance", "5")

    assert result.exit_code == 0, result.output
    key = field(result.output, "api key", after="username: bob")
    password = field(result.output, "password", after="username: bob")
    assert len(key) == 36
    assert status_for(database_file, "bob", key) == (200, "5.000000")
    assert status_for(database_file, "bob", password)[0] == 200
    assert status_for(database_file, "bob", "0C0FFEE0-0000-4000-8000-000000000000")[0] == 401


def test_an_account_may_keep_its_balance_in_a_currency_the_price_file_rates(
    database_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator's price file adds JPY by an exchange rate: an account created in it
    sees its balance, prices and currency in yen."""
    prices = tmp_path / "prices.json"
    prices.write_text(
        json.dumps(
            {
                "currencies": {"JPY": {"name_long": "Yen", "prefix_d": "¥", "prefix_c": "¥"}},
                "rates": {"JPY": {"from": "USD", "rate": "150"}},
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("DOVECOTE_PRICES_FILE", str(prices))
    assert run(database_file, "migrate").exit_code == 0
    refused = run(database_file, "accounts", "create", "kenji", "--currency", "XYZ")
    assert refused.exit_code != 0 and "JPY" in refused.output
    created = run(
        database_file, "accounts", "create", "kenji", "--currency", "jpy", "--balance", "1500"
    )
    assert created.exit_code == 0, created.output
    key = field(created.output, "api key", after="username: kenji")

    async def ask() -> tuple[dict[str, Any], dict[str, Any]]:
        settings = Settings(
            database_url=url(database_file), worker_enabled=False, prices_file=str(prices)
        )
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", auth=("kenji", key)
            ) as http:
                account = (await http.get("/v3/account")).json()["data"]
                price = await http.post(
                    "/v3/sms/price", json={"messages": [{"to": "+14155552671", "body": "hi"}]}
                )
                return account, price.json()["data"]

    account, price = asyncio.run(ask())
    assert account["_currency"]["currency_name_short"] == "JPY"
    assert account["balance"] == "1500.000000"
    usd = PriceBook.load().unit_price("sms", "USD", "US")
    assert Decimal(str(price["total_price"])) == usd * 150
    assert price["_currency"]["currency_name_short"] == "JPY"


def test_accounts_list_shows_each_user_with_balance_and_flags(database_file: Path) -> None:
    assert run(database_file, "accounts", "create", "bob", "--balance", "5").exit_code == 0

    result = run(database_file, "accounts", "list")

    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.output.splitlines() if line.strip()}
    assert "5.000000 USD" in rows["bob"]
    assert "main" in rows["bob"].split()
    assert "banned" in rows["banned"].split()
    assert "inactive" in rows["notactive"].split()


def test_accounts_adjust_corrects_the_balance_and_refuses_an_overdraft(
    database_file: Path,
) -> None:
    assert run(database_file, "accounts", "create", "bob", "--balance", "5").exit_code == 0

    added = run(database_file, "accounts", "adjust", "bob", "2.50", "--reason", "goodwill")
    # `--` ends the options, so a negative amount is not read as one.
    taken = run(database_file, "accounts", "adjust", "--reason", "correction", "bob", "--", "-1.25")
    refused = run(database_file, "accounts", "adjust", "--reason", "too much", "bob", "--", "-100")
    with sqlite3.connect(database_file) as db:
        entries = db.execute(
            "SELECT kind, amount_micros, reference FROM ledger_entries"
            " WHERE account_id = (SELECT account_id FROM users WHERE username = 'bob')"
            " ORDER BY id"
        ).fetchall()

    assert added.exit_code == 0, added.output
    assert "balance: 7.500000" in added.output
    assert "balance: 6.250000" in taken.output
    assert refused.exit_code == 1
    assert "does not cover" in refused.output
    assert entries == [
        ("opening", 5_000_000, "opening balance"),
        ("adjustment", 2_500_000, "goodwill"),
        ("adjustment", -1_250_000, "correction"),
    ]


def test_keys_rotate_replaces_the_key(database_file: Path) -> None:
    created = run(database_file, "accounts", "create", "bob")
    old_key = field(created.output, "api key", after="username: bob")

    result = run(database_file, "keys", "rotate", "bob")

    assert result.exit_code == 0, result.output
    new_key = field(result.output, "api key")
    assert new_key != old_key
    assert status_for(database_file, "bob", new_key)[0] == 200
    assert status_for(database_file, "bob", old_key)[0] == 401


def test_bad_input_is_reported_without_a_traceback(database_file: Path) -> None:
    unknown = run(database_file, "keys", "rotate", "nobody")
    bad_balance = run(database_file, "accounts", "create", "carol", "--balance", "lots")
    bad_country = run(database_file, "accounts", "create", "carol", "--country", "XX")

    assert unknown.exit_code != 0
    assert "nobody" in unknown.output
    for result, name in ((bad_balance, "balance"), (bad_country, "country")):
        assert result.exit_code == 1, result.output
        assert name in result.output
        assert isinstance(result.exception, SystemExit), result.exception
    listed = run(database_file, "accounts", "list").output
    assert "carol" not in listed


def test_the_first_start_prints_generated_owner_credentials_once(
    database_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def start() -> None:
        runtime = wiring.build_runtime(
            Settings(database_url=url(database_file), worker_enabled=False)
        )
        try:
            await bootstrap.prepare(runtime)
        finally:
            await runtime.close()

    asyncio.run(start())
    first = capsys.readouterr().out
    asyncio.run(start())
    second = capsys.readouterr().out

    assert "Created owner account" in first
    username = field(first, "username")
    key = field(first, "api key")
    password = field(first, "password")
    assert username == "owner"
    assert second == ""
    assert status_for(database_file, username, key)[0] == 200
    assert status_for(database_file, username, password)[0] == 200


def test_accounts_set_turns_on_extended_history_and_validates_otp_options(
    database_file: Path,
) -> None:
    assert run(database_file, "accounts", "create", "carol").exit_code == 0

    on = run(
        database_file,
        "accounts",
        "set",
        "carol",
        "email_activity_extended=true",
        "otp_code_length=8",
    )
    too_long = run(database_file, "accounts", "set", "carol", "otp_code_length=11")
    unknown = run(database_file, "accounts", "set", "carol", "colour=blue")
    cleared = run(database_file, "accounts", "set", "carol", "email_activity_extended=")

    assert on.exit_code == 0, on.output
    assert "email_activity_extended: True" in on.output
    assert "otp_code_length: 8" in on.output
    assert too_long.exit_code == 1 and "otp_code_length" in too_long.output
    assert "Traceback" not in too_long.output
    assert unknown.exit_code == 1 and "colour=blue" in unknown.output
    assert cleared.exit_code == 0 and "email_activity_extended" not in cleared.output
    assert "otp_code_length: 8" in cleared.output


def test_numbers_import_loads_the_inventory_and_names_a_bad_line(
    database_file: Path, tmp_path: Path
) -> None:
    inventory = tmp_path / "numbers.csv"
    inventory.write_text(
        "number,country,type,capabilities,monthly_price,connector\n"
        "+12025550101,US,longcode,sms;mms,2.50,smpp-us\n"
        "+61481070206,AU,mobile,sms,18.59,\n"
    )
    assert run(database_file, "migrate").exit_code == 0

    first = run(database_file, "numbers", "import", str(inventory))
    again = run(database_file, "numbers", "import", str(inventory))
    inventory.write_text("number,country,type,capabilities,monthly_price\n+1202,US,x,sms,1\n")
    bad = run(database_file, "numbers", "import", str(inventory))

    assert first.exit_code == 0, first.output
    assert "2 numbers added, 0 updated" in first.output
    assert "0 numbers added, 2 updated" in again.output
    assert bad.exit_code == 1
    assert "line 2: number" in bad.output
    rows = sqlite3.connect(database_file).execute("SELECT number FROM numbers ORDER BY number")
    assert [row[0] for row in rows] == ["+12025550101", "+61481070206"]


def test_connectors_and_routes_are_added_listed_changed_and_removed(database_file: Path) -> None:
    secret = "SMPP-PW1"
    added = run(
        database_file,
        "connectors", "add", "carrier-a", "smpp",
        "--set", "host=127.0.0.1", "--set", "port=2775",
        "--set", "system_id=dovecote", "--set", f"password={secret}",
        "--throughput", "50",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert run(database_file, "connectors", "add", "carrier-b", "smpp").exit_code == 0
    route = run(
        database_file, "routes", "add", "carrier-a", "carrier-b", "--prefix", "+61",
        "--channel", "sms", "--priority", "5",
    )  # fmt: skip
    assert route.exit_code == 0, route.output
    assert "-> carrier-a > carrier-b" in route.output

    listed = run(database_file, "connectors", "list")
    assert listed.exit_code == 0, listed.output
    rows = {line.split("\t")[0]: line for line in listed.output.splitlines()}
    assert "50/s" in rows["carrier-a"] and "port=2775" in rows["carrier-a"]
    assert "password=********" in rows["carrier-a"]
    assert secret not in added.output + listed.output
    routes = run(database_file, "routes", "list").output
    assert "prefix=+61" in routes and "channel=sms" in routes and "priority=5" in routes

    changed = run(database_file, "connectors", "set", "carrier-a", "--disable", "--unset", "port")
    assert changed.exit_code == 0, changed.output
    assert "disabled" in changed.output and "port=" not in changed.output

    # A connector a route uses cannot go; the route first, then the connector.
    refused = run(database_file, "connectors", "remove", "carrier-a")
    assert refused.exit_code == 1 and "used by route" in refused.output
    route_id = routes.split("\t")[0]
    assert run(database_file, "routes", "remove", route_id).exit_code == 0
    assert run(database_file, "connectors", "remove", "carrier-a").exit_code == 0
    assert "carrier-a" not in run(database_file, "connectors", "list").output


def test_connectors_list_shows_the_shared_health(database_file: Path) -> None:
    assert run(database_file, "connectors", "add", "carrier-a", "sandbox").exit_code == 0
    assert run(database_file, "connectors", "add", "carrier-b", "sandbox").exit_code == 0

    async def fail_twice() -> None:  # what a worker writes when carrier-a refuses its binds
        engine = create_engine(url(database_file))
        board = Board(engine, threshold=2, cooldown=600)
        for _ in range(2):
            await board.failed("carrier-a", "bind refused")
        board.count("carrier-b", "sent", 3)
        await board.flush()
        await engine.dispose()

    asyncio.run(fail_twice())
    listed = run(database_file, "connectors", "list")

    assert listed.exit_code == 0, listed.output
    rows = {line.split("\t")[0]: line for line in listed.output.splitlines()}
    assert "health=down until " in rows["carrier-a"] and "downs=1" in rows["carrier-a"]
    assert "last_error='bind refused'" in rows["carrier-a"]
    assert "health=up failures=0" in rows["carrier-b"] and "messages=sent=3" in rows["carrier-b"]


def test_connector_input_is_checked(database_file: Path) -> None:
    unknown = run(database_file, "connectors", "add", "x", "pigeon")
    assert unknown.exit_code == 1 and "Unknown transport" in unknown.output
    incomplete = run(database_file, "connectors", "add", "up", "http", "--set", "url=http://x")
    assert incomplete.exit_code == 1 and "username, password" in incomplete.output
    missing = run(database_file, "routes", "add", "nowhere")
    assert missing.exit_code == 1 and "nowhere" in missing.output
