"""`POST /v3/sms/send`: every application status from a real request, the response shape,
parts and encodings, credit (one transaction, never overdrawn), and both official SDKs."""

from __future__ import annotations

import ast
import asyncio
import importlib
import json
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

from dispatch_support import dispatcher as build_dispatcher
from dovecote.accounts.service import TEST_API_KEY
from dovecote.app import create_app
from dovecote.billing import ledger
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import (
    accounts,
    events,
    ledger_entries,
    messages,
    statistics_daily,
    users,
)

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
US_PRICE = 29_000  # micros per part, packaged USD price for US
AU_PRICE = 53_000
START_BALANCE = 100_000_000


# --- helpers ------------------------------------------------------------------------------


def msg(to: str, body: str = "Hello from Dovecote", **extra: Any) -> dict[str, Any]:
    return {"to": to, "body": body, **extra}


def us(n: int) -> str:
    """A distinct, valid US mobile-format number per `n` (0 ≤ n < 10000)."""
    return f"+1202555{n:04d}"


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


async def set_account(app: FastAPI, username: str = "owner", **values: Any) -> None:
    async with app.state.runtime.engine.begin() as conn:
        account_id = (
            await conn.execute(sa.select(users.c.account_id).where(users.c.username == username))
        ).scalar_one()
        await conn.execute(accounts.update().where(accounts.c.id == account_id).values(**values))


async def stored(app: FastAPI) -> list[dict[str, Any]]:
    async with app.state.runtime.engine.connect() as conn:
        result = await conn.execute(sa.select(messages).order_by(messages.c.id))
        return [dict(row) for row in result.mappings()]


@asynccontextmanager
async def client_for(
    settings: Settings, auth: tuple[str, str] | None = None, **changes: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """An app built with changed settings, and a client (owner unless `auth` says otherwise)."""
    application = create_app(settings.model_copy(update=changes))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        credentials = auth or (str(settings.owner_username), str(settings.owner_api_key))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=credentials
        ) as http:
            yield application, http


def sync_rows(database_url: str) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                result = await conn.execute(sa.select(messages))
                return [dict(row) for row in result.mappings()]
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def sdk5() -> ModuleType:
    if not SDK5_PATH.is_dir():
        pytest.fail(
            f"SDK 5.0.91 is missing: pip install --no-deps --target {SDK5_PATH} "
            "clicksend-client==5.0.91 (make test does it)"
        )
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    return importlib.import_module("clicksend_client")


def sdk6_api(url: str, settings: Settings) -> clicksend.SmsApi:
    config = clicksend.Configuration(
        host=url, username=settings.owner_username, password=settings.owner_api_key
    )
    return clicksend.SmsApi(clicksend.ApiClient(config))


def sdk5_result(raw: Any) -> Any:
    """SDK 5 declares its responses as `str`: it parses the JSON and returns `str(dict)`,
    a Python repr rather than JSON, so read it back with `literal_eval`."""
    assert isinstance(raw, str)
    return ast.literal_eval(raw)


def sdk5_api(module: ModuleType, url: str, settings: Settings) -> Any:
    config = module.Configuration()
    config.host = url + "/v3"
    config.username = settings.owner_username
    config.password = settings.owner_api_key
    return module.SMSApi(module.ApiClient(config))


# --- SUCCESS and the response shape ---------------------------------------------------------


async def test_a_send_answers_in_the_spec_shape_and_queues_a_charged_row(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = time.time()
    response = await send(
        client,
        msg(
            us(1),
            "Your order has shipped",
            **{"from": "DovecoteCo"},
            custom_string="order-42",
            source="pytest",
            from_email="replies@example.com",
        ),
    )

    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["http_code"] == 200
    assert envelope["response_code"] == "SUCCESS"
    data = envelope["data"]
    assert data["total_price"] == pytest.approx(0.029)
    assert data["total_count"] == 1
    assert data["queued_count"] == 1
    assert data["blocked_count"] == 0
    assert data["_currency"] == {
        "currency_name_short": "USD",
        "currency_prefix_d": "$",
        "currency_prefix_c": "¢",
        "currency_name_long": "US Dollars",
    }
    [message] = data["messages"]
    assert message["status"] == "SUCCESS"
    assert message["to"] == "+12025550001"
    assert message["from"] == "DovecoteCo"
    assert message["body"] == "Your order has shipped"
    assert message["country"] == "US"
    assert message["custom_string"] == "order-42"
    assert message["from_email"] == "replies@example.com"
    assert message["message_parts"] == 1
    assert isinstance(message["message_price"], str)
    assert Decimal(message["message_price"]) == Decimal("0.029")
    assert isinstance(message["date"], int)
    assert before - 1 <= message["date"] <= time.time() + 1
    assert message["schedule"] == 0
    assert message["direction"] == "out"
    assert len(message["message_id"]) == 36
    assert message["message_id"] == message["message_id"].upper()

    [row] = await stored(app)
    assert row["id"] == message["message_id"]
    assert row["status"] == "queued"
    assert row["direction"] == "out"
    assert row["channel"] == "sms"
    assert row["recipient"] == "+12025550001"
    assert row["sender"] == "DovecoteCo"
    assert row["custom_string"] == "order-42"
    assert row["source"] == "pytest"
    assert row["from_email"] == "replies@example.com"
    assert row["price_micros"] == US_PRICE
    assert row["currency"] == "USD"
    assert row["is_test"] is False
    assert row["due_at"] is not None and before - 1 <= row["due_at"] <= time.time() + 1
    assert await balance(app) == START_BALANCE - US_PRICE


async def test_a_local_number_with_a_country_is_stored_in_e164_with_that_country_price(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await send(client, msg("0412 345 678", country="AU"))

    [message] = response.json()["data"]["messages"]
    assert message["status"] == "SUCCESS"
    assert message["to"] == "+61412345678"
    assert message["country"] == "AU"
    assert Decimal(message["message_price"]) == Decimal("0.053")
    [row] = await stored(app)
    assert (row["recipient"], row["country"]) == ("+61412345678", "AU")
    assert await balance(app) == START_BALANCE - AU_PRICE


async def test_a_local_number_is_read_in_the_account_country_when_none_is_given(
    client: httpx.AsyncClient,
) -> None:
    response = await send(client, msg("(202) 555-0142"))

    [message] = response.json()["data"]["messages"]
    assert (message["status"], message["to"], message["country"]) == (
        "SUCCESS",
        "+12025550142",
        "US",
    )


async def test_a_future_schedule_is_echoed_and_becomes_the_rows_due_time(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    when = int(time.time()) + 3600
    response = await send(client, msg(us(2), schedule=when))

    [message] = response.json()["data"]["messages"]
    assert message["status"] == "SUCCESS"
    assert message["schedule"] == when
    [row] = await stored(app)
    assert row["schedule"] == when
    assert row["due_at"] == when


async def test_a_past_schedule_means_send_now(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await send(client, msg(us(3), schedule=int(time.time()) - 3600))

    [message] = response.json()["data"]["messages"]
    assert message["status"] == "SUCCESS"
    assert message["schedule"] == 0
    [row] = await stored(app)
    assert row["schedule"] is None
    assert row["due_at"] <= time.time()


# --- every application status ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "status"),
    [
        (msg("not a number"), "INVALID_RECIPIENT"),
        (msg(""), "INVALID_RECIPIENT"),
        (msg("+1202"), "INVALID_RECIPIENT"),
        # An Australian local number is not a US number: the account's country is US.
        (msg("0412 345 678"), "INVALID_RECIPIENT"),
        (msg(us(4), ""), "EMPTY_MESSAGE"),
        (msg(us(4), "   \n "), "EMPTY_MESSAGE"),
        (msg(us(4), **{"from": "ABCDEFGHIJKL"}), "INVALID_SENDER_ID"),  # 12 characters
        (msg(us(4), **{"from": "My Shop"}), "INVALID_SENDER_ID"),
        (msg(us(4), schedule="next tuesday"), "INVALID_SCHEDULE"),
        (msg(us(4), schedule=int(time.time()) + 400 * 24 * 3600), "INVALID_SCHEDULE"),
        (msg(us(4), schedule=int(time.time() * 1000)), "INVALID_SCHEDULE"),  # milliseconds
    ],
)
async def test_an_invalid_message_gets_its_status_is_not_charged_and_not_stored(
    app: FastAPI, client: httpx.AsyncClient, message: dict[str, Any], status: str
) -> None:
    response = await send(client, message)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert statuses(response) == [status]
    assert data["messages"][0]["message_id"] is None
    assert (data["total_count"], data["queued_count"], data["blocked_count"]) == (1, 0, 1)
    assert data["total_price"] == 0
    assert await stored(app) == []
    assert await balance(app) == START_BALANCE


@pytest.mark.parametrize("list_id", ["\u00b2", "99999999999", 99999999999, "-1", "12a"])
async def test_a_list_id_no_list_can_have_gets_its_status_not_a_server_error(
    app: FastAPI, client: httpx.AsyncClient, list_id: str | int
) -> None:
    # "²" passed str.isdigit() and failed int(); 99999999999 overflowed PostgreSQL's
    # INTEGER column when the row was written.
    response = await send(client, msg(us(6), list_id=list_id), msg(us(7), list_id="12"))

    assert response.status_code == 200, response.text
    assert statuses(response) == ["NOT_ENOUGH_PERMISSION_TO_LIST_ID", "SUCCESS"]
    assert response.json()["data"]["messages"][1]["list_id"] == "12"
    assert [row["list_id"] for row in await stored(app)] == [12]


@pytest.mark.parametrize("schedule", ['"inf"', '"1e400"', "1e400", '"NaN"'])
async def test_an_infinite_schedule_is_invalid_not_a_server_error(
    app: FastAPI, client: httpx.AsyncClient, schedule: str
) -> None:
    # json.loads reads the literal 1e400 as float("inf"); int() of it overflows.
    content = '{"messages": [{"to": "+12025550004", "body": "x", "schedule": ' + schedule + "}]}"

    response = await client.post(
        "/v3/sms/send", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code == 200, response.text
    assert statuses(response) == ["INVALID_SCHEDULE"]
    assert await stored(app) == []


@pytest.mark.parametrize("sender", ["DovecoteCo1", "A", "+12025550100", "61411111111", "My-Shop"])
async def test_a_valid_sender_id_is_accepted(client: httpx.AsyncClient, sender: str) -> None:
    response = await send(client, msg(us(5), **{"from": sender}))

    assert statuses(response) == ["SUCCESS"]
    assert response.json()["data"]["messages"][0]["from"] == sender


async def test_each_message_of_a_mixed_request_gets_its_own_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await send(
        client, msg(us(6)), msg("garbage"), msg(us(7), ""), msg(us(8), "second good one")
    )

    data = response.json()["data"]
    assert statuses(response) == ["SUCCESS", "INVALID_RECIPIENT", "EMPTY_MESSAGE", "SUCCESS"]
    assert (data["total_count"], data["queued_count"], data["blocked_count"]) == (4, 2, 2)
    assert data["total_price"] == pytest.approx(0.058)
    assert len(await stored(app)) == 2
    assert await balance(app) == START_BALANCE - 2 * US_PRICE


async def test_the_same_body_to_the_same_recipient_is_throttled_across_requests(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    first = await send(client, msg(us(9), "Same words"))
    second = await send(client, msg(us(9), "Same words"))
    other_body = await send(client, msg(us(9), "Different words"))
    other_recipient = await send(client, msg(us(10), "Same words"))

    assert statuses(first) == ["SUCCESS"]
    assert statuses(second) == ["THROTTLED"]
    assert statuses(other_body) == ["SUCCESS"]
    assert statuses(other_recipient) == ["SUCCESS"]
    assert second.json()["data"]["total_price"] == 0
    assert len(await stored(app)) == 3
    assert await balance(app) == START_BALANCE - 3 * US_PRICE


async def test_concurrent_identical_sends_are_throttled_to_one_and_charged_once(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    # Issue #10.16: on PostgreSQL ten concurrent identical sends gave five SUCCESS, all
    # charged; each request found nothing yet committed by the others.
    before = await balance(app)
    payload = {"messages": [{"to": "+61411111177", "body": "Same body", "from": "Dove"}]}

    responses = await asyncio.gather(
        *(client.post("/v3/sms/send", json=payload) for _ in range(10))
    )

    outcomes = sorted(statuses(response)[0] for response in responses)
    assert outcomes == ["SUCCESS"] + ["THROTTLED"] * 9
    [charged] = {
        response.json()["data"]["total_price"]
        for response in responses
        if statuses(response) == ["SUCCESS"]
    }
    assert before - await balance(app) == round(charged * 1_000_000)  # micro-units


async def test_a_duplicate_inside_one_request_is_throttled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await send(client, msg(us(11), "Twice"), msg(us(11), "Twice"))

    assert statuses(response) == ["SUCCESS", "THROTTLED"]
    assert len(await stored(app)) == 1
    assert await balance(app) == START_BALANCE - US_PRICE


async def test_a_zero_throttle_window_lets_duplicates_through(settings: Settings) -> None:
    async with client_for(settings, sms_throttle_window=0) as (application, http):
        first = await send(http, msg(us(12), "Twice"), msg(us(12), "Twice"))
        second = await send(http, msg(us(12), "Twice"))
        assert statuses(first) == ["SUCCESS", "SUCCESS"]
        assert statuses(second) == ["SUCCESS"]
        assert len(await stored(application)) == 3


async def test_a_message_cancelled_before_sending_does_not_throttle_a_resend(
    client: httpx.AsyncClient,
) -> None:
    first = await send(client, msg(us(13), "Again", schedule=int(time.time()) + 600))
    message_id = first.json()["data"]["messages"][0]["message_id"]
    assert (await client.put(f"/v3/sms/{message_id}/cancel")).status_code == 200

    again = await send(client, msg(us(13), "Again"))

    assert statuses(again) == ["SUCCESS"]


async def test_the_nocredit_test_account_gets_insufficient_credit(settings: Settings) -> None:
    async with client_for(settings, auth=("nocredit", TEST_API_KEY)) as (application, http):
        response = await send(http, msg(us(14)))

        assert response.status_code == 200, response.text
        assert statuses(response) == ["INSUFFICIENT_CREDIT"]
        assert response.json()["data"]["queued_count"] == 0
        assert await stored(application) == []
        assert await balance(application, "nocredit") == 0


async def test_the_notactive_test_account_gets_account_not_activated(settings: Settings) -> None:
    async with client_for(settings, auth=("notactive", TEST_API_KEY)) as (application, http):
        response = await send(http, msg(us(15)), msg("+61411111111"))

        assert response.status_code == 200, response.text
        assert statuses(response) == ["ACCOUNT_NOT_ACTIVATED", "ACCOUNT_NOT_ACTIVATED"]
        assert await stored(application) == []
        assert await balance(application, "notactive") == 10_000_000


async def test_a_short_balance_pays_for_the_first_messages_and_refuses_the_rest(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await set_account(app, balance_micros=2 * US_PRICE + 1_000)

    response = await send(client, msg(us(16)), msg(us(17)), msg(us(18)))

    data = response.json()["data"]
    assert statuses(response) == ["SUCCESS", "SUCCESS", "INSUFFICIENT_CREDIT"]
    assert (data["queued_count"], data["blocked_count"]) == (2, 1)
    assert data["total_price"] == pytest.approx(0.058)
    assert sorted(row["recipient"] for row in await stored(app)) == [us(16), us(17)]
    assert await balance(app) == 1_000


async def test_exactly_enough_credit_is_spent_to_zero(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await set_account(app, balance_micros=3 * US_PRICE)

    response = await send(client, msg(us(19)), msg(us(20)), msg(us(21)))

    assert statuses(response) == ["SUCCESS"] * 3
    assert await balance(app) == 0


async def test_more_than_1000_messages_is_refused_whole_and_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await send(client, *(msg(us(n)) for n in range(1001)))

    assert response.status_code == 400, response.text
    envelope = response.json()
    assert envelope["http_code"] == 400
    assert envelope["response_code"] == "TOO_MANY_RECIPIENTS"
    assert await stored(app) == []
    assert await balance(app) == START_BALANCE


async def test_exactly_1000_messages_are_accepted_in_one_request(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await send(client, *(msg(us(n)) for n in range(1000)))

    data = response.json()["data"]
    assert (data["total_count"], data["queued_count"]) == (1000, 1000)
    assert len(await stored(app)) == 1000
    assert await balance(app) == START_BALANCE - 1000 * US_PRICE


async def test_an_empty_message_list_is_a_bad_request(client: httpx.AsyncClient) -> None:
    response = await client.post("/v3/sms/send", json={"messages": []})

    assert response.status_code == 400
    assert response.json()["response_code"] == "BAD_REQUEST"


@pytest.mark.parametrize(
    "number", ["+61411111111", "+61422222222", "+14055555555", "+447777777777"]
)
async def test_a_test_number_succeeds_free_and_is_never_handed_to_a_transport(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, number: str
) -> None:
    response = await send(client, msg(number))

    data = response.json()["data"]
    [message] = data["messages"]
    assert message["status"] == "SUCCESS"
    assert Decimal(message["message_price"]) == 0
    assert message["message_id"]
    assert data["total_price"] == 0
    [row] = await stored(app)
    assert row["status"] == "test"
    assert row["is_test"] is True
    assert row["due_at"] is None
    assert await balance(app) == START_BALANCE
    dispatcher = build_dispatcher(app.state.runtime.engine, settings)
    assert await dispatcher.run_once() == 0


async def test_a_test_number_is_never_throttled(client: httpx.AsyncClient) -> None:
    response = await send(client, msg("+61411111111", "Same"), msg("+61411111111", "Same"))

    assert statuses(response) == ["SUCCESS", "SUCCESS"]


# --- parts and encodings --------------------------------------------------------------------


async def test_a_161_character_gsm_body_is_two_parts_at_double_price(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await send(client, msg(us(22), "x" * 161))

    [message] = response.json()["data"]["messages"]
    assert message["message_parts"] == 2
    assert Decimal(message["message_price"]) == Decimal("0.058")
    [row] = await stored(app)
    assert (row["parts"], row["encoding"], row["price_micros"]) == (2, "GSM", 2 * US_PRICE)


async def test_one_emoji_switches_the_message_to_ucs2(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # 100 GSM characters fit one part; with one emoji the whole body is UCS-2 (70/67 per
    # part, the emoji counting two UTF-16 units), so 102 units need two parts.
    response = await send(client, msg(us(23), "a" * 100 + "😀"))

    [message] = response.json()["data"]["messages"]
    assert message["message_parts"] == 2
    [row] = await stored(app)
    assert row["encoding"] == "UCS2"
    assert row["body"] == "a" * 100 + "😀"
    assert row["price_micros"] == 2 * US_PRICE


async def test_the_default_part_limit_truncates_a_long_body_to_six_parts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    response = await send(client, msg(us(24), "b" * 2000))

    [message] = response.json()["data"]["messages"]
    assert message["message_parts"] == 6
    assert message["body"] == "b" * 6 * 153
    [row] = await stored(app)
    assert row["body"] == "b" * 6 * 153
    assert row["price_micros"] == 6 * US_PRICE


async def test_an_account_with_eight_parts_keeps_a_longer_body(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await set_account(app, sms_max_parts=8)

    response = await send(client, msg(us(25), "b" * 2000))

    [message] = response.json()["data"]["messages"]
    assert message["message_parts"] == 8
    assert len(message["body"]) == 8 * 153
    assert await balance(app) == START_BALANCE - 8 * US_PRICE


# --- money ----------------------------------------------------------------------------------


async def test_a_failure_after_the_debit_rolls_back_the_charge_and_the_rows(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_insert(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("disk full")

    async with client_for(settings) as (application, http):
        monkeypatch.setattr("dovecote.pipeline.queue.insert_messages", broken_insert)
        response = await send(http, msg(us(26)), msg(us(27)))
        monkeypatch.undo()

        assert response.status_code == 500
        assert response.json()["response_code"] == "INTERNAL_SERVER_ERROR"
        assert await balance(application) == START_BALANCE
        assert await stored(application) == []
        # And the account is still usable afterwards.
        assert statuses(await send(http, msg(us(26)))) == ["SUCCESS"]


async def test_concurrent_sends_from_one_account_never_overdraw_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    affordable = 6
    await set_account(app, balance_micros=affordable * US_PRICE)

    responses = await asyncio.gather(
        *(send(client, msg(us(100 + n), f"concurrent {n}")) for n in range(3 * affordable))
    )

    assert all(response.status_code == 200 for response in responses)
    outcomes = [statuses(response)[0] for response in responses]
    assert outcomes.count("SUCCESS") == affordable
    assert outcomes.count("INSUFFICIENT_CREDIT") == 2 * affordable
    assert await balance(app) == 0
    assert len(await stored(app)) == affordable


async def test_concurrent_multi_message_sends_charge_exactly_what_they_queue(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Eleven messages' worth of credit, requests of three: the short requests must
    # fall back to the affordable prefix without a lost update on the balance.
    await set_account(app, balance_micros=11 * US_PRICE)

    responses = await asyncio.gather(
        *(
            send(client, *(msg(us(200 + 3 * r + k), f"batch {r}") for k in range(3)))
            for r in range(8)
        )
    )

    queued = sum(response.json()["data"]["queued_count"] for response in responses)
    assert queued == 11
    assert await balance(app) == 0
    assert len(await stored(app)) == 11


async def set_balance(app: FastAPI, micros: int) -> None:
    """Bring the owner's balance to `micros` through the ledger (an adjustment), so the
    books still balance afterwards."""
    async with app.state.runtime.engine.begin() as conn:
        account_id = await owner_account(conn)
        current = int(
            (
                await conn.execute(
                    sa.select(accounts.c.balance_micros).where(accounts.c.id == account_id)
                )
            ).scalar_one()
        )
        await ledger.adjust(conn, account_id, micros - current, "test")


async def owner_account(conn: Any) -> int:
    query = sa.select(users.c.account_id).where(users.c.username == "owner")
    return int((await conn.execute(query)).scalar_one())


async def books(app: FastAPI) -> tuple[int, int, int, dict[int, tuple[int, int]]]:
    """What one account's sends left behind besides the messages: Σ of the SEND ledger
    entries, `queued` events, the statistics rollup's queued count, and any account whose
    balance differs from its entries."""
    async with app.state.runtime.engine.connect() as conn:
        debited = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(ledger_entries.c.amount_micros), 0)).where(
                    ledger_entries.c.kind == ledger.SEND
                )
            )
        ).scalar_one()
        queued_events = (
            await conn.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.type == "queued")
            )
        ).scalar_one()
        counted = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(statistics_daily.c.count), 0)).where(
                    statistics_daily.c.status == "queued"
                )
            )
        ).scalar_one()
        return int(debited), int(queued_events), int(counted), await ledger.discrepancies(conn)


@pytest.mark.parametrize("throttle_window", [0, 60])
async def test_racing_single_sends_for_k_of_n_credits_charge_exactly_k(
    settings: Settings, throttle_window: int
) -> None:
    # Forty single sends at once for an account that can pay seven: each SUCCESS must be
    # charged and committed once, the rest answered INSUFFICIENT_CREDIT with nothing
    # left behind (no message, event, statistics count or ledger entry). Window 60: the
    # throttle's row lock serializes them from the start; window 0: only the debit does.
    affordable, racing = 7, 40
    async with client_for(settings, sms_throttle_window=throttle_window) as (application, http):
        await set_balance(application, affordable * US_PRICE)
        responses = await asyncio.gather(
            *(send(http, msg(us(300 + n), f"race {n}")) for n in range(racing))
        )

        assert all(response.status_code == 200 for response in responses)
        answers = [response.json()["data"]["messages"][0] for response in responses]
        paid = [answer for answer in answers if answer["status"] == "SUCCESS"]
        refused = [answer for answer in answers if answer["status"] != "SUCCESS"]
        assert len(paid) == affordable
        assert {answer["status"] for answer in refused} == {"INSUFFICIENT_CREDIT"}
        assert all(answer["message_id"] is None for answer in refused)
        rows = await stored(application)
        assert sorted(row["id"] for row in rows) == sorted(answer["message_id"] for answer in paid)
        assert await balance(application) == 0
        assert await books(application) == (-affordable * US_PRICE, affordable, affordable, {})


# --- the official SDKs ----------------------------------------------------------------------


def test_sdk6_sends_and_deserializes_the_response_into_its_model(
    live_server: Any, settings: Settings
) -> None:
    api = sdk6_api(live_server.url, settings)
    request = clicksend.SendSmsRequest(
        messages=[
            clicksend.SendSmsRequestMessagesInner(
                body="From SDK 6", to=us(30), custom_string="sdk6", var_from="Dovecote"
            ),
            clicksend.SendSmsRequestMessagesInner(body="From SDK 6", to="+61411111111"),
            clicksend.SendSmsRequestMessagesInner(body="From SDK 6", to="nope"),
        ]
    )

    result = api.send_sms(send_sms_request=request)

    assert isinstance(result, clicksend.SendSms)
    assert result.http_code == 200
    assert result.response_code == "SUCCESS"
    data = result.data
    assert isinstance(data, clicksend.SendSmsData)
    assert (data.total_count, data.queued_count, data.blocked_count) == (3, 2, 1)
    assert data.total_price == pytest.approx(0.029)
    assert data.currency is not None and data.currency.currency_name_short == "USD"
    assert data.messages is not None
    first, test_number, bad = data.messages
    assert isinstance(first, clicksend.SmsSendSms)
    assert first.status == "SUCCESS"
    assert first.to == us(30)
    assert first.var_from == "Dovecote"
    assert first.custom_string == "sdk6"
    assert first.message_parts == 1
    assert first.message_price == "0.0290"
    assert first.country == "US"
    assert isinstance(first.var_date, int)
    assert test_number.status == "SUCCESS"
    assert bad.status == "INVALID_RECIPIENT"
    rows = {row["id"]: row for row in sync_rows(settings.database_url)}
    assert rows[first.message_id]["status"] == "queued"
    assert rows[first.message_id]["source"] == "sdk-python"  # the SDK's default source
    assert rows[test_number.message_id]["status"] == "test"


def test_sdk5_sends_and_gets_the_same_response(
    live_server: Any, settings: Settings, sdk5: ModuleType
) -> None:
    api = sdk5_api(sdk5, live_server.url, settings)
    collection = sdk5.SmsMessageCollection(
        messages=[
            sdk5.SmsMessage(source="sdk5", body="From SDK 5", to=us(31), custom_string="five"),
            sdk5.SmsMessage(source="sdk5", body="From SDK 5", to=us(31), custom_string="again"),
        ]
    )

    raw = api.sms_send_post(collection)

    body = sdk5_result(raw)
    assert body["http_code"] == 200
    assert body["response_code"] == "SUCCESS"
    data = body["data"]
    assert (data["total_count"], data["queued_count"]) == (2, 1)
    first, second = data["messages"]
    assert (first["status"], second["status"]) == ("SUCCESS", "THROTTLED")
    assert first["custom_string"] == "five"
    assert first["message_price"] == "0.0290"
    [row] = sync_rows(settings.database_url)
    assert (row["id"], row["source"], row["status"]) == (first["message_id"], "sdk5", "queued")


def test_sdk6_raises_its_bad_request_exception_for_too_many_recipients(
    live_server: Any, settings: Settings
) -> None:
    from clicksend.exceptions import BadRequestException

    api = sdk6_api(live_server.url, settings)
    request = clicksend.SendSmsRequest(
        messages=[clicksend.SendSmsRequestMessagesInner(body="x", to=us(n)) for n in range(1001)]
    )

    with pytest.raises(BadRequestException) as caught:
        api.send_sms(send_sms_request=request)

    assert json.loads(str(caught.value.body))["response_code"] == "TOO_MANY_RECIPIENTS"
    assert sync_rows(settings.database_url) == []


# --- who may send ---------------------------------------------------------------------------


async def test_the_banned_test_account_is_refused(settings: Settings) -> None:
    async with client_for(settings, auth=("banned", TEST_API_KEY)) as (application, http):
        response = await send(http, msg(us(32)))

        assert response.status_code == 403
        assert response.json()["response_code"] == "ACCOUNT_BANNED"
        assert await stored(application) == []


async def test_a_subaccount_sends_on_the_shared_balance_unless_it_lacks_access_sms(
    settings: Settings, client: httpx.AsyncClient, app: FastAPI
) -> None:
    made = {}
    for username, access in (("sender", 1), ("nosms", 0)):
        response = await client.post(
            "/v3/subaccounts",
            json={
                "api_username": username,
                "password": "s3cret-password",
                "email": f"{username}@example.com",
                "phone_number": "+61411111111",
                "first_name": "Sub",
                "last_name": "Account",
                "access_sms": access,
            },
        )
        assert response.status_code == 200, response.text
        made[username] = response.json()["data"]

    async with client_for(settings, auth=("sender", made["sender"]["api_key"])) as (_, http):
        allowed = await send(http, msg(us(33)))
    async with client_for(settings, auth=("nosms", made["nosms"]["api_key"])) as (_, http):
        refused = await send(http, msg(us(34)))
        refused_price = await http.post("/v3/sms/price", json={"messages": [msg(us(34))]})

    assert statuses(allowed) == ["SUCCESS"]
    [message] = allowed.json()["data"]["messages"]
    assert message["user_id"] == message["subaccount_id"] == made["sender"]["subaccount_id"]
    assert refused.status_code == 403
    assert refused_price.status_code == 403
    [row] = await stored(app)
    assert row["user_id"] == made["sender"]["subaccount_id"]
    assert await balance(app) == START_BALANCE - US_PRICE
