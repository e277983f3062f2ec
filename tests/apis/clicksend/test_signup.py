"""Sign-up (`POST /v3/account`) and account verification, end to end through the sandbox
email: the token is read from the captured mail, as a new user would read it."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from account_support import mailed_text, token_in
from dovecote.app import create_app
from dovecote.settings import Settings
from dovecote.storage.tables import account_tokens, accounts, users

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
NEW_PASSWORD = "correct horse battery"


def sign_up_body(**changes: Any) -> dict[str, Any]:
    body = {
        "username": "ada",
        "password": NEW_PASSWORD,
        "user_email": "ada@example.com",
        "user_phone": "518-481-1001",
        "user_first_name": "Ada",
        "user_last_name": "Lovelace",
        "account_name": "Analytical Engines",
        "country": "US",
    }
    return {**body, **changes}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"signup": "open", "signup_rate_limit": "3/hour"})


def as_ada(app: FastAPI, password: str = NEW_PASSWORD) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", auth=("ada", password)
    )


async def test_a_new_account_is_inactive_until_the_mailed_token_comes_back_once(
    app: FastAPI, anon: httpx.AsyncClient
) -> None:
    created = await anon.post("/v3/account", json=sign_up_body())
    assert created.status_code == 200, created.text
    data = created.json()["data"]
    assert data["active"] == 0
    assert data["balance"] == "0.000000"
    assert data["user_phone"] == "+15184811001"
    assert data["_subaccount"]["api_key"]

    async with as_ada(app) as ada:
        token = token_in(await mailed_text(ada, "ada@example.com"), "Activation token")
        assert (await ada.get("/v3/account")).json()["data"]["active"] == 0

        verified = await anon.put(f"/v3/account-verify/verify/{token}")
        again = await anon.put(f"/v3/account-verify/verify/{token}")
        after = (await ada.get("/v3/account")).json()["data"]

    assert verified.status_code == 200, verified.text
    assert verified.json()["data"]["active"] == 1
    assert after["active"] == 1
    assert again.status_code == 400
    assert again.json()["response_code"] == "BAD_REQUEST"


async def test_an_expired_or_superseded_activation_token_is_refused(
    app: FastAPI, anon: httpx.AsyncClient
) -> None:
    assert (await anon.post("/v3/account", json=sign_up_body())).status_code == 200
    async with as_ada(app) as ada:
        first = token_in(await mailed_text(ada, "ada@example.com"), "Activation token")
        resent = await ada.put("/v3/account-verify/send", json={"type": "sms"})
        second = token_in(await mailed_text(ada, "ada@example.com"), "Activation token")
    assert resent.status_code == 200, resent.text
    assert "activation_token" not in resent.json()["data"]
    assert first != second
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(account_tokens.update().values(expires_at=1))

    superseded = await anon.put(f"/v3/account-verify/verify/{first}")
    expired = await anon.put(f"/v3/account-verify/verify/{second}")

    assert superseded.status_code == expired.status_code == 400
    async with app.state.runtime.engine.connect() as conn:
        active = (
            await conn.execute(
                sa.select(accounts.c.active).join(users).where(users.c.username == "ada")
            )
        ).scalar_one()
    assert active is False


async def test_only_a_hash_of_the_token_is_stored(app: FastAPI, anon: httpx.AsyncClient) -> None:
    assert (await anon.post("/v3/account", json=sign_up_body())).status_code == 200
    async with as_ada(app) as ada:
        token = token_in(await mailed_text(ada, "ada@example.com"), "Activation token")
    async with app.state.runtime.engine.connect() as conn:
        stored = (await conn.execute(sa.select(account_tokens.c.token_hash))).scalars().all()
    assert len(stored) == 1
    assert token not in stored[0]
    assert len(stored[0]) == 64


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"user_email": "not an address"}, "user_email"),
        ({"user_phone": "12"}, "user_phone"),
        ({"country": "XX"}, "country"),
        ({"password": "short"}, "password"),
        ({"username": "has:colon"}, "api_username"),
    ],
)
async def test_bad_sign_up_data_is_refused_and_creates_nothing(
    app: FastAPI, anon: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    response = await anon.post("/v3/account", json=sign_up_body(**changes))
    assert response.status_code == 400, response.text
    async with app.state.runtime.engine.connect() as conn:
        count = (
            await conn.execute(sa.select(sa.func.count()).where(users.c.username == "ada"))
        ).scalar_one()
    assert count == 0


async def test_a_taken_username_is_refused(anon: httpx.AsyncClient) -> None:
    response = await anon.post("/v3/account", json=sign_up_body(username="OWNER"))
    assert response.status_code == 400
    assert "taken" in response.json()["response_msg"]


async def test_sign_ups_are_limited_per_client_address(anon: httpx.AsyncClient) -> None:
    codes = [
        (await anon.post("/v3/account", json=sign_up_body(username=f"u{n}"))).status_code
        for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]


async def test_sign_up_is_closed_unless_the_operator_opens_it(settings: Settings) -> None:
    closed = create_app(settings.model_copy(update={"signup": "closed"}))
    async with closed.router.lifespan_context(closed):
        transport = httpx.ASGITransport(app=closed)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as anon:
            response = await anon.post("/v3/account", json=sign_up_body())
    assert response.status_code == 403
    assert response.json()["response_code"] == "SIGNUP_CLOSED"


def sdk5() -> ModuleType:
    if not SDK5_PATH.is_dir():
        pytest.fail(f"SDK 5.0.91 is missing under {SDK5_PATH} (make test installs it)")
    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    return importlib.import_module("clicksend_client")


def test_sdk5_signs_up_and_asks_for_a_new_token(live_server: Any) -> None:
    client = sdk5()
    config = client.Configuration()
    config.host = live_server.url + "/v3"
    api = client.AccountApi(client.ApiClient(config))
    body = sign_up_body()
    created = ast.literal_eval(api.account_post(client.Account(**body)))
    config.username, config.password = "ada", NEW_PASSWORD
    api = client.AccountApi(client.ApiClient(config))
    sent = ast.literal_eval(
        api.account_verify_send_put(
            client.AccountVerify(country="US", user_phone="+15184811001", type="email")
        )
    )
    refused = None
    try:
        api.account_verify_verify_by_activation_token_put("not-a-token")
    except client.rest.ApiException as exc:
        refused = exc.status

    assert created["http_code"] == 200
    assert created["data"]["username"] == "ada"
    assert sent["response_msg"] == "Verification sent."
    assert refused == 400
