"""`/v3/account` and `/v3/account/usage/...`, read with the official SDK 6.0.2 where it can."""

from __future__ import annotations

import asyncio
import calendar
import uuid
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from clicksend.exceptions import BadRequestException

from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import messages, users


def sdk_client(url: str, settings: Settings) -> clicksend.ApiClient:
    config = clicksend.Configuration(
        host=url, username=settings.owner_username, password=settings.owner_api_key
    )
    return clicksend.ApiClient(config)


def test_the_sdk_reads_the_account_into_its_model(live_server: Any, settings: Settings) -> None:
    with sdk_client(live_server.url, settings) as api_client:
        result = clicksend.ManagementApi(api_client).view_account_details()

    assert isinstance(result, clicksend.ViewAccountDetails)
    assert result.http_code == 200
    assert result.response_code == "SUCCESS"
    account = result.data
    assert isinstance(account, clicksend.Account)
    assert account.username == settings.owner_username
    assert account.balance == "100.000000"
    assert account.active == 1
    assert account.banned == 0
    assert account.currency is not None
    assert account.currency.currency_name_short == "USD"
    assert account.subaccount is not None
    assert account.subaccount.api_username == settings.owner_username
    assert account.subaccount.is_main == 1
    # Keys are stored hashed: the account view never carries one.
    assert account.subaccount.api_key is None


async def test_updating_the_account_changes_names_timezone_and_country(
    client: httpx.AsyncClient,
) -> None:
    changes = {
        "user_first_name": "Ada",
        "user_last_name": "Lovelace",
        "account_name": "Analytical Engines",
        "timezone": "Australia/Melbourne",
        "country": "au",
        # Usernames are case-insensitive, so a user may change the case of its own.
        "username": "OWNER",
    }

    response = await client.put("/v3/account", json=changes)
    reread = await client.get("/v3/account")

    assert response.status_code == 200, response.text
    for data in (response.json()["data"], reread.json()["data"]):
        assert data["user_first_name"] == "Ada"
        assert data["user_last_name"] == "Lovelace"
        assert data["account_name"] == "Analytical Engines"
        assert data["timezone"] == "Australia/Melbourne"
        assert data["country"] == "AU"
        assert data["username"] == "OWNER"


async def test_a_bad_timezone_country_or_overlong_field_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    before = (await client.get("/v3/account")).json()["data"]
    attempts = {
        "timezone": {"account_name": "Changed", "timezone": "Mars/Olympus_Mons"},
        "country": {"account_name": "Changed", "country": "XX"},
        # Longer than the columns: PostgreSQL would refuse them with an error.
        "username": {"account_name": "Changed", "username": "u" * 101},
        "user_email": {"account_name": "Changed", "user_email": "e" * 321},
        "account_name": {"account_name": "a" * 201},
    }
    for field, body in attempts.items():
        response = await client.put("/v3/account", json=body)

        assert response.status_code == 400, (field, response.text)
        assert response.json()["response_code"] == "BAD_REQUEST"
        assert field in response.json()["response_msg"], field

    after = (await client.get("/v3/account")).json()["data"]
    assert after == before


async def test_a_username_with_a_colon_is_refused_by_name_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    before = (await client.get("/v3/account")).json()["data"]

    # Basic authorization splits at the first ':', so the renamed user could never log in.
    response = await client.put("/v3/account", json={"username": "own:er", "user_first_name": "X"})

    assert response.status_code == 400, response.text
    assert response.json()["response_code"] == "BAD_REQUEST"
    assert "username" in response.json()["response_msg"]
    assert (await client.get("/v3/account")).json()["data"] == before


def _seed_usage(database_url: str, username: str, year: int, month: int) -> None:
    """Two SMS parts, one email, one cancelled SMS and one system email (a verification
    link: the platform's mail, not the account's) for `username` in that month."""

    async def seed() -> None:
        engine = create_engine(database_url)
        at = calendar.timegm((year, month, 15, 12, 0, 0))
        try:
            async with engine.begin() as conn:
                row = (
                    await conn.execute(sa.select(users).where(users.c.username == username))
                ).one()
                common = {
                    "account_id": row.account_id,
                    "user_id": row.id,
                    "direction": "out",
                    "created_at": at,
                    "updated_at": at,
                    "source": None,  # every row names the same columns (one executemany)
                }
                await conn.execute(
                    messages.insert(),
                    [
                        {
                            **common,
                            "id": str(uuid.uuid4()).upper(),
                            "channel": "sms",
                            "recipient": "+61411111111",
                            "parts": 2,
                            "price_micros": 150_000,
                            "status": "delivered",
                        },
                        {
                            **common,
                            "id": str(uuid.uuid4()).upper(),
                            "channel": "email",
                            "recipient": "someone@example.com",
                            "parts": 1,
                            "price_micros": 10_000,
                            "status": "sent",
                        },
                        {
                            **common,
                            "id": str(uuid.uuid4()).upper(),
                            "channel": "email",
                            "recipient": "verify-me@example.com",
                            "parts": 1,
                            "price_micros": 0,
                            "status": "sent",
                            "source": "system",
                        },
                        {
                            **common,
                            "id": str(uuid.uuid4()).upper(),
                            "channel": "sms",
                            "recipient": "+61411111112",
                            "parts": 5,
                            "price_micros": 999_000,
                            "status": "cancelled",
                        },
                    ],
                )
        finally:
            await engine.dispose()

    asyncio.run(seed())


def test_the_sdk_reads_monthly_usage_by_subaccount(live_server: Any, settings: Settings) -> None:
    assert settings.owner_username
    _seed_usage(settings.database_url, settings.owner_username, 2024, 3)

    with sdk_client(live_server.url, settings) as api_client:
        api = clicksend.ManagementApi(api_client)
        empty = api.view_account_usage("2024", "1")
        busy = api.view_account_usage("2024", "3")
        with pytest.raises(BadRequestException) as bad_month:
            api.view_account_usage("2024", "13")

    assert isinstance(empty, clicksend.ViewAccountUsage)
    assert empty.data is not None
    assert empty.data.sms == []
    assert empty.data.email == []
    assert empty.data.sms_total is not None
    assert (empty.data.sms_total.count, empty.data.sms_total.price) == (0, 0)
    assert empty.data.email_total is not None
    assert empty.data.email_total.count == 0
    assert empty.data.currency is not None
    assert empty.data.currency.currency_name_short == "USD"

    assert busy.data is not None
    assert busy.data.sms is not None and len(busy.data.sms) == 1
    sms = busy.data.sms[0]
    assert sms.username == settings.owner_username
    assert sms.total_count == "2.00"  # parts, and the cancelled message does not count
    assert sms.total_price == pytest.approx(0.15)
    assert busy.data.sms_total is not None
    assert busy.data.sms_total.count == 2
    assert busy.data.email is not None and busy.data.email[0].total_count == 1
    assert busy.data.mms == []

    assert bad_month.value.status == 400
    assert "month" in (bad_month.value.body or "")


async def test_usage_refuses_a_month_or_year_out_of_range(client: httpx.AsyncClient) -> None:
    for path, name in (
        ("/v3/account/usage/2024/0/subaccount", "month"),
        ("/v3/account/usage/2024/abc/subaccount", "month"),
        ("/v3/account/usage/1999/5/subaccount", "year"),
    ):
        response = await client.get(path)

        assert response.status_code == 400, path
        assert response.json()["response_code"] == "BAD_REQUEST"
        assert name in response.json()["response_msg"], path


async def test_a_username_outside_printable_ascii_is_refused_and_a_renamed_owner_logs_in(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    # Found by the contract run (tests/test_contract.py): "Ëve" was accepted, and on
    # SQLite, whose lower() folds ASCII only, never found again at login. Usernames are
    # printable ASCII, matched case-insensitively the same way on both databases.
    for name in ("Ëve", "eve\u200b", "tab\there"):
        refused = await client.put("/v3/account", json={"username": name})
        assert refused.status_code == 400, name
        assert "printable ASCII" in refused.json()["response_msg"]

    renamed = await client.put("/v3/account", json={"username": "Eve-2"})
    assert renamed.status_code == 200, renamed.text
    for login in ("Eve-2", "eve-2", "EVE-2"):
        response = await client.get("/v3/account", auth=(login, str(settings.owner_api_key)))
        assert response.status_code == 200, login


async def test_a_null_field_is_refused_by_name_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    # Found by the contract run: {"user_first_name": null} answered 200. Left out, a field
    # keeps its value; null is not a value.
    before = (await client.get("/v3/account")).json()["data"]

    refused = await client.put("/v3/account", json={"user_first_name": None, "country": "AU"})

    assert refused.status_code == 400, refused.text
    assert "user_first_name" in refused.json()["response_msg"]
    assert (await client.get("/v3/account")).json()["data"] == before
