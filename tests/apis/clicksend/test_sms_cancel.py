"""`PUT /v3/sms/{message_id}/cancel` and `PUT /v3/sms/cancel-all`: cancel until claimed, refund."""

from __future__ import annotations

import ast
import asyncio
import importlib
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from clicksend.exceptions import NotFoundException
from fastapi import FastAPI

from dispatch_support import dispatcher as build_dispatcher
from dovecote.accounts.service import TEST_API_KEY
from dovecote.app import create_app
from dovecote.pipeline import dispatcher as dispatcher_module
from dovecote.pipeline import queue as store
from dovecote.pipeline.dispatcher import Dispatcher
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import accounts, messages, users

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
US_PRICE = 29_000
START_BALANCE = 100_000_000


def us(n: int) -> str:
    return f"+1202555{n:04d}"


def later(seconds: int = 3600) -> int:
    return int(time.time()) + seconds


async def send(client: httpx.AsyncClient, *items: dict[str, Any]) -> list[str]:
    response = await client.post("/v3/sms/send", json={"messages": list(items)})
    assert response.status_code == 200, response.text
    messages_out = response.json()["data"]["messages"]
    assert all(m["status"] == "SUCCESS" for m in messages_out), messages_out
    return [m["message_id"] for m in messages_out]


def scheduled(n: int, when: int | None = None, body: str = "Later") -> dict[str, Any]:
    return {"to": us(n), "body": body, "schedule": when or later()}


async def balance(app: FastAPI) -> int:
    query = (
        sa.select(accounts.c.balance_micros)
        .join(users, users.c.account_id == accounts.c.id)
        .where(users.c.username == "owner")
    )
    async with app.state.runtime.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def row(app: FastAPI, message_id: str) -> dict[str, Any]:
    async with app.state.runtime.engine.connect() as conn:
        result = await conn.execute(sa.select(messages).where(messages.c.id == message_id))
        return dict(result.mappings().one())


def dispatcher_for(app: FastAPI, settings: Settings) -> Dispatcher:
    return build_dispatcher(app.state.runtime.engine, settings)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The dispatcher's clock, movable: `clock.now` is what `time.time()` answers there."""
    state = SimpleNamespace(now=time.time())
    monkeypatch.setattr(dispatcher_module, "time", SimpleNamespace(time=lambda: state.now))
    return state


@asynccontextmanager
async def client_as(
    settings: Settings, username: str, key: str
) -> AsyncIterator[httpx.AsyncClient]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=(username, key)
        ) as http:
            yield http


async def test_cancelling_a_scheduled_message_refunds_it_and_it_is_never_claimed(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    when = later()
    [message_id] = await send(client, scheduled(1, when))
    assert await balance(app) == START_BALANCE - US_PRICE

    response = await client.put(f"/v3/sms/{message_id}/cancel")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["http_code"], body["response_code"]) == (200, "SUCCESS")
    assert message_id in body["response_msg"]
    assert body["data"] is None  # what SDK 6's CancelSms model accepts
    assert await balance(app) == START_BALANCE
    cancelled = await row(app, message_id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["due_at"] is None
    clock.now = when + 10  # past its schedule: still nothing to claim
    assert await dispatcher_for(app, settings).run_once() == 0
    assert (await row(app, message_id))["status"] == "cancelled"


async def test_a_lower_case_message_id_is_cancelled_too(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    [message_id] = await send(client, scheduled(2))

    response = await client.put(f"/v3/sms/{message_id.lower()}/cancel")

    assert response.status_code == 200
    assert (await row(app, message_id))["status"] == "cancelled"


async def test_cancelling_twice_refunds_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    [message_id] = await send(client, scheduled(3))

    first = await client.put(f"/v3/sms/{message_id}/cancel")
    second = await client.put(f"/v3/sms/{message_id}/cancel")

    assert first.status_code == 200
    assert second.status_code == 404
    assert second.json()["response_code"] == "NOT_FOUND"
    assert await balance(app) == START_BALANCE


async def test_a_message_claimed_by_a_worker_can_no_longer_be_cancelled(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    [message_id] = await send(client, {"to": us(4), "body": "Right now"})
    async with app.state.runtime.engine.begin() as conn:
        claimed = await store.claim(conn, owner="worker-x", now=time.time(), lease=60, limit=10)
    assert [r["id"] for r in claimed] == [message_id]

    response = await client.put(f"/v3/sms/{message_id}/cancel")

    assert response.status_code == 404
    body = response.json()
    assert (body["http_code"], body["response_code"]) == (404, "NOT_FOUND")
    assert (await row(app, message_id))["status"] == "queued"
    assert await balance(app) == START_BALANCE - US_PRICE


async def test_a_sent_message_can_no_longer_be_cancelled(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    [message_id] = await send(client, {"to": us(5), "body": "Right now"})
    dispatcher = dispatcher_for(app, settings)
    assert await dispatcher.run_once() == 1
    assert (await row(app, message_id))["status"] == "sent"

    while_sent = await client.put(f"/v3/sms/{message_id}/cancel")
    assert await dispatcher.run_once() == 1  # the sandbox receipt (delay 0)
    after_delivery = await client.put(f"/v3/sms/{message_id}/cancel")

    assert while_sent.status_code == 404
    assert after_delivery.status_code == 404
    assert (await row(app, message_id))["status"] == "delivered"
    assert await balance(app) == START_BALANCE - US_PRICE


async def test_another_accounts_message_cannot_be_cancelled(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    [message_id] = await send(client, scheduled(6))

    async with client_as(settings, "nocredit", TEST_API_KEY) as intruder:
        response = await intruder.put(f"/v3/sms/{message_id}/cancel")
        cancel_all = await intruder.put("/v3/sms/cancel-all")

    assert response.status_code == 404
    assert response.json()["response_code"] == "NOT_FOUND"
    assert cancel_all.json()["data"] == {"count": 0}
    assert (await row(app, message_id))["status"] == "queued"
    assert await balance(app) == START_BALANCE - US_PRICE


async def subaccount(client: httpx.AsyncClient, username: str, **flags: int) -> str:
    """Create a subaccount of the owner's account; returns its API key."""
    body = {
        "api_username": username,
        "password": "s3cret-password",
        "email": f"{username}@example.com",
        "phone_number": "+61411111111",
        "first_name": "Sub",
        "last_name": "Account",
        **flags,
    }
    response = await client.post("/v3/subaccounts", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["api_key"])


async def test_a_subaccount_without_access_reporting_cancels_only_its_own_messages(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    owners = await send(client, scheduled(11), scheduled(12))
    key = await subaccount(client, "restricted", access_sms=1, access_reporting=0)

    async with client_as(settings, "restricted", key) as restricted:
        [own] = await send(restricted, scheduled(13))
        # It cannot see the owner's messages in history, so it cannot cancel them either.
        history = (await restricted.get("/v3/sms/history")).json()["data"]["data"]
        one = await restricted.put(f"/v3/sms/{owners[0]}/cancel")
        everything = await restricted.put("/v3/sms/cancel-all")

    assert [m["message_id"] for m in history] == [own]
    assert one.status_code == 404
    assert one.json()["response_code"] == "NOT_FOUND"
    assert everything.status_code == 200
    assert everything.json()["data"] == {"count": 1}
    assert (await row(app, own))["status"] == "cancelled"
    for message_id in owners:
        assert (await row(app, message_id))["status"] == "queued"
    assert await balance(app) == START_BALANCE - 2 * US_PRICE  # only its own was refunded


async def test_a_subaccount_with_access_reporting_cancels_the_accounts_messages(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    [owners] = await send(client, scheduled(14))
    key = await subaccount(client, "reporter", access_sms=1, access_reporting=1)

    async with client_as(settings, "reporter", key) as reporter:
        one = await reporter.put(f"/v3/sms/{owners}/cancel")

    assert one.status_code == 200, one.text
    assert (await row(app, owners))["status"] == "cancelled"


async def test_an_unknown_or_test_number_message_is_not_found(client: httpx.AsyncClient) -> None:
    [test_id] = await send(client, {"to": "+61411111111", "body": "free"})

    unknown = await client.put("/v3/sms/01234567-89AB-7DEF-8123-456789ABCDEF/cancel")
    test_message = await client.put(f"/v3/sms/{test_id}/cancel")

    assert unknown.status_code == 404
    assert test_message.status_code == 404


async def test_cancel_all_cancels_every_unclaimed_message_and_refunds_them(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    [sent_id] = await send(client, {"to": us(7), "body": "Goes out now"})
    assert await dispatcher_for(app, settings).run_once() == 1
    waiting = await send(client, scheduled(8), scheduled(9), scheduled(10, body="x" * 200))
    assert await balance(app) == START_BALANCE - 5 * US_PRICE

    response = await client.put("/v3/sms/cancel-all")
    again = await client.put("/v3/sms/cancel-all")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"] == {"count": 3}
    assert body["response_msg"] == "3 messages has been cancelled."
    assert again.json()["data"] == {"count": 0}
    assert await balance(app) == START_BALANCE - US_PRICE
    for message_id in waiting:
        assert (await row(app, message_id))["status"] == "cancelled"
    assert (await row(app, sent_id))["status"] == "sent"


async def test_a_scheduled_message_is_claimed_only_once_its_time_comes(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: SimpleNamespace
) -> None:
    when = later(600)
    [message_id] = await send(client, scheduled(11, when))
    dispatcher = dispatcher_for(app, settings)

    clock.now = when - 1
    assert await dispatcher.run_once() == 0
    clock.now = when + 1
    assert await dispatcher.run_once() == 1

    assert (await row(app, message_id))["status"] == "sent"
    cancel = await client.put(f"/v3/sms/{message_id}/cancel")
    assert cancel.status_code == 404


def _status(database_url: str, message_id: str) -> str:
    async def read() -> str:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                query = sa.select(messages.c.status).where(messages.c.id == message_id)
                return str((await conn.execute(query)).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _sdk6(url: str, settings: Settings) -> clicksend.SmsApi:
    config = clicksend.Configuration(
        host=url, username=settings.owner_username, password=settings.owner_api_key
    )
    return clicksend.SmsApi(clicksend.ApiClient(config))


def _schedule_with_sdk6(api: clicksend.SmsApi, count: int) -> list[str]:
    request = clicksend.SendSmsRequest(
        messages=[
            clicksend.SendSmsRequestMessagesInner(body="sdk later", to=us(40 + n), schedule=later())
            for n in range(count)
        ]
    )
    result = api.send_sms(send_sms_request=request)
    assert result.data is not None and result.data.messages is not None
    return [str(m.message_id) for m in result.data.messages]


def test_sdk6_cancels_one_message_and_then_all(live_server: Any, settings: Settings) -> None:
    api = _sdk6(live_server.url, settings)
    first, *rest = _schedule_with_sdk6(api, 3)

    cancelled = api.cancel_sms(first)
    cancelled_all = api.cancel_all_sms()

    assert isinstance(cancelled, clicksend.CancelSms)
    assert (cancelled.http_code, cancelled.response_code) == (200, "SUCCESS")
    assert isinstance(cancelled_all, clicksend.CancelAllSms)
    assert cancelled_all.data is not None and cancelled_all.data.count == 2
    for message_id in (first, *rest):
        assert _status(settings.database_url, message_id) == "cancelled"
    with pytest.raises(NotFoundException):
        api.cancel_sms(first)


def test_sdk5_cancels_one_message_and_then_all(live_server: Any, settings: Settings) -> None:
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
    first, *rest = _schedule_with_sdk6(_sdk6(live_server.url, settings), 3)

    # SDK 5 hands back `str(parsed_json)`, a Python repr.
    one = ast.literal_eval(api.sms_cancel_by_message_id_put(first))
    everything = ast.literal_eval(api.sms_cancel_all_put())

    assert (one["http_code"], one["response_code"]) == (200, "SUCCESS")
    assert everything["data"] == {"count": 2}
    for message_id in (first, *rest):
        assert _status(settings.database_url, message_id) == "cancelled"
