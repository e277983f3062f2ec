"""`POST /v3/sms/price`: the same statuses and totals as a send, without storing or charging."""

from __future__ import annotations

import ast
import asyncio
import importlib
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from dovecote.accounts.service import TEST_API_KEY
from dovecote.app import create_app
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import accounts, messages, users

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
US_PRICE = 29_000
START_BALANCE = 100_000_000


def msg(to: str, body: str = "How much is this?", **extra: Any) -> dict[str, Any]:
    return {"to": to, "body": body, **extra}


def us(n: int) -> str:
    return f"+1202555{n:04d}"


async def price(client: httpx.AsyncClient, *items: dict[str, Any]) -> httpx.Response:
    return await client.post("/v3/sms/price", json={"messages": list(items)})


async def send(client: httpx.AsyncClient, *items: dict[str, Any]) -> httpx.Response:
    return await client.post("/v3/sms/send", json={"messages": list(items)})


def statuses(response: httpx.Response) -> list[str]:
    return [m["status"] for m in response.json()["data"]["messages"]]


async def balance(app: FastAPI, username: str = "owner") -> int:
    query = (
        sa.select(accounts.c.balance_micros)
        .join(users, users.c.account_id == accounts.c.id)
        .where(users.c.username == username)
    )
    async with app.state.runtime.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def set_balance(app: FastAPI, micros: int) -> None:
    async with app.state.runtime.engine.begin() as conn:
        account_id = (
            await conn.execute(sa.select(users.c.account_id).where(users.c.username == "owner"))
        ).scalar_one()
        await conn.execute(
            accounts.update().where(accounts.c.id == account_id).values(balance_micros=micros)
        )


async def row_count(app: FastAPI) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar())


@asynccontextmanager
async def client_as(
    settings: Settings, username: str, key: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=(username, key)
        ) as http:
            yield application, http


MIXED = [
    msg(us(1)),
    msg(us(2), "y" * 161),
    msg("0412 345 678", country="AU"),
    msg("+61411111111"),
    msg("garbage"),
    msg(us(3), ""),
    msg(us(4), **{"from": "Twelve chars"}),
    msg(us(5), schedule="soon"),
    msg(us(6), "Twice"),
    msg(us(6), "Twice"),
    msg(us(7), "é" * 10 + "😀"),
]
MIXED_STATUSES = [
    "SUCCESS",
    "SUCCESS",
    "SUCCESS",
    "SUCCESS",
    "INVALID_RECIPIENT",
    "EMPTY_MESSAGE",
    "INVALID_SENDER_ID",
    "INVALID_SCHEDULE",
    "SUCCESS",
    "THROTTLED",
    "SUCCESS",
]


def comparable(response: httpx.Response) -> dict[str, Any]:
    data = response.json()["data"]
    return {
        "totals": (
            data["total_price"],
            data["total_count"],
            data["queued_count"],
            data["blocked_count"],
        ),
        "currency": data["_currency"],
        "messages": [
            (m["to"], m["status"], m["message_parts"], m["message_price"], m["country"], m["body"])
            for m in data["messages"]
        ],
    }


async def test_price_answers_what_send_then_does_without_storing_or_charging(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    priced = await price(client, *MIXED)

    assert priced.status_code == 200, priced.text
    assert priced.json()["response_code"] == "SUCCESS"
    assert statuses(priced) == MIXED_STATUSES
    assert await row_count(app) == 0
    assert await balance(app) == START_BALANCE

    sent = await send(client, *MIXED)

    assert comparable(priced) == comparable(sent)
    total = Decimal(str(priced.json()["data"]["total_price"]))
    assert await balance(app) == START_BALANCE - int(total * 1_000_000)


async def test_price_totals_and_per_message_prices(client: httpx.AsyncClient) -> None:
    response = await price(client, msg(us(10)), msg(us(11), "z" * 161), msg("+61411111111"))

    data = response.json()["data"]
    assert data["total_price"] == pytest.approx(0.087)
    assert (data["total_count"], data["queued_count"], data["blocked_count"]) == (3, 3, 0)
    assert [Decimal(m["message_price"]) for m in data["messages"]] == [
        Decimal("0.029"),
        Decimal("0.058"),
        Decimal(0),
    ]
    assert [m["message_parts"] for m in data["messages"]] == [1, 2, 1]
    assert all(m["message_id"] is None for m in data["messages"])
    assert data["_currency"]["currency_name_short"] == "USD"


async def test_price_reports_the_sdk_price_model_types_for_date_and_schedule(
    client: httpx.AsyncClient,
) -> None:
    when = int(time.time()) + 3600
    response = await price(client, msg(us(12), schedule=when), msg(us(13)))

    first, second = response.json()["data"]["messages"]
    assert isinstance(first["date"], str) and first["date"].isdigit()
    assert first["schedule"] == str(when)
    assert second["schedule"] == ""


async def test_price_reports_insufficient_credit_for_what_the_balance_cannot_pay(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await set_balance(app, 2 * US_PRICE + 500)

    response = await price(client, msg(us(14)), msg(us(15)), msg(us(16)))

    data = response.json()["data"]
    assert statuses(response) == ["SUCCESS", "SUCCESS", "INSUFFICIENT_CREDIT"]
    assert (data["queued_count"], data["blocked_count"]) == (2, 1)
    assert data["total_price"] == pytest.approx(0.058)
    assert await balance(app) == 2 * US_PRICE + 500
    assert await row_count(app) == 0


async def test_price_sees_the_throttle_left_by_an_earlier_send(client: httpx.AsyncClient) -> None:
    await send(client, msg(us(17), "Once only"))

    response = await price(client, msg(us(17), "Once only"), msg(us(17), "Something else"))

    assert statuses(response) == ["THROTTLED", "SUCCESS"]


async def test_pricing_twice_never_throttles_itself(client: httpx.AsyncClient) -> None:
    first = await price(client, msg(us(18), "Same"))
    second = await price(client, msg(us(18), "Same"))

    assert statuses(first) == statuses(second) == ["SUCCESS"]


async def test_price_for_the_nocredit_and_notactive_test_accounts(settings: Settings) -> None:
    async with client_as(settings, "nocredit", TEST_API_KEY) as (_, http):
        assert statuses(await price(http, msg(us(19)))) == ["INSUFFICIENT_CREDIT"]
        # Test numbers are free, so they still succeed without credit.
        assert statuses(await price(http, msg("+61411111111"))) == ["SUCCESS"]
    async with client_as(settings, "notactive", TEST_API_KEY) as (application, http):
        assert statuses(await price(http, msg(us(19)))) == ["ACCOUNT_NOT_ACTIVATED"]
        assert await row_count(application) == 0


async def test_price_refuses_more_than_1000_messages(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await price(client, *(msg(us(n)) for n in range(1001)))

    assert response.status_code == 400
    assert response.json()["response_code"] == "TOO_MANY_RECIPIENTS"


async def test_price_needs_credentials(anon: httpx.AsyncClient) -> None:
    response = await anon.post("/v3/sms/price", json={"messages": [msg(us(20))]})

    assert response.status_code == 401
    assert response.json()["http_code"] == 401


def _rows(database_url: str) -> int:
    async def count() -> int:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                query = sa.select(sa.func.count()).select_from(messages)
                return int((await conn.execute(query)).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_sdk6_prices_into_its_model(live_server: Any, settings: Settings) -> None:
    config = clicksend.Configuration(
        host=live_server.url, username=settings.owner_username, password=settings.owner_api_key
    )
    api = clicksend.SmsApi(clicksend.ApiClient(config))
    request = clicksend.CalculateSmsPriceRequest(
        messages=[
            clicksend.CalculateSmsPriceRequestMessagesInner(
                body="w" * 200, to=us(21), schedule=int(time.time()) + 600
            ),
            clicksend.CalculateSmsPriceRequestMessagesInner(body="hi", to="bogus"),
        ]
    )

    result = api.calculate_sms_price(calculate_sms_price_request=request)

    assert isinstance(result, clicksend.CalculateSmsPrice)
    assert result.http_code == 200
    data = result.data
    assert isinstance(data, clicksend.CalculateSmsPriceData)
    assert (data.total_count, data.queued_count, data.blocked_count) == (2, 1, 1)
    assert data.total_price == pytest.approx(0.058)
    assert data.messages is not None
    first, second = data.messages
    assert isinstance(first, clicksend.Sms)
    assert (first.status, first.message_parts, first.message_price) == ("SUCCESS", 2, "0.0580")
    assert second.status == "INVALID_RECIPIENT"
    assert _rows(settings.database_url) == 0


def test_sdk5_prices(live_server: Any, settings: Settings) -> None:
    if not SDK5_PATH.is_dir():
        pytest.fail(f"SDK 5.0.91 is missing under {SDK5_PATH} (make test installs it)")
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    sdk5: ModuleType = importlib.import_module("clicksend_client")
    config = sdk5.Configuration()
    config.host = live_server.url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    api = sdk5.SMSApi(sdk5.ApiClient(config))
    collection = sdk5.SmsMessageCollection(
        messages=[sdk5.SmsMessage(source="sdk5", body="Price me", to=us(22))]
    )

    # SDK 5 hands back `str(parsed_json)`, a Python repr.
    body = ast.literal_eval(api.sms_price_post(collection))

    assert body["http_code"] == 200
    assert body["data"]["total_price"] == pytest.approx(0.029)
    assert body["data"]["messages"][0]["status"] == "SUCCESS"
    assert _rows(settings.database_url) == 0
