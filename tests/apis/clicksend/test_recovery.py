"""Forgotten usernames and passwords, end to end through the sandbox email: the same
answer for existing and unknown accounts, reset tokens that work once and expire."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from account_support import mailed_text, token_in
from dovecote.settings import Settings
from dovecote.storage.tables import account_tokens, messages

SDK5_PATH = Path(__file__).resolve().parents[3] / ".venv" / "sdk5"
EMAIL = "owner@example.com"
NEW_PASSWORD = "a brand new password"


@pytest.fixture
async def owner_email(client: httpx.AsyncClient) -> str:
    response = await client.put(
        "/v3/account", json={"user_email": EMAIL, "user_phone": "+15184811001"}
    )
    assert response.status_code == 200, response.text
    return EMAIL


async def reset_token(client: httpx.AsyncClient) -> tuple[int, str]:
    text = await mailed_text(client, EMAIL)
    return int(token_in(text, "Subaccount id")), token_in(text, "Reset token")


def as_owner(app: FastAPI, password: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", auth=("owner", password)
    )


async def mail_count(app: FastAPI) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(messages))).scalar_one()
        )


async def test_a_password_is_reset_with_the_mailed_token_once(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, owner_email: str
) -> None:
    asked = await anon.put("/v3/forgot-password", json={"username": "owner"})
    user_id, token = await reset_token(client)
    body = {"subaccount_id": user_id, "activation_token": token, "password": NEW_PASSWORD}

    reset = await anon.put("/v3/forgot-password/verify", json=body)
    replayed = await anon.put("/v3/forgot-password/verify", json={**body, "password": "x" * 12})

    assert asked.status_code == 200
    assert reset.status_code == 200, reset.text
    assert reset.json()["response_msg"] == "Your password has been updated."
    assert replayed.status_code == 400
    async with as_owner(app, NEW_PASSWORD) as owner:
        assert (await owner.get("/v3/account")).status_code == 200
    async with as_owner(app, "x" * 12) as attacker:
        assert (await attacker.get("/v3/account")).status_code == 401


async def test_an_expired_token_or_another_users_id_resets_nothing(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, owner_email: str
) -> None:
    await anon.put("/v3/forgot-password", json={"username": "owner"})
    user_id, token = await reset_token(client)
    wrong_user = await anon.put(
        "/v3/forgot-password/verify",
        json={"subaccount_id": user_id + 1, "activation_token": token, "password": NEW_PASSWORD},
    )
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(account_tokens.update().values(expires_at=1))
    expired = await anon.put(
        "/v3/forgot-password/verify",
        json={"subaccount_id": user_id, "activation_token": token, "password": NEW_PASSWORD},
    )

    assert wrong_user.status_code == expired.status_code == 400
    async with as_owner(app, NEW_PASSWORD) as owner:
        assert (await owner.get("/v3/account")).status_code == 401


async def test_forgot_password_answers_the_same_for_known_and_unknown_usernames(
    app: FastAPI, anon: httpx.AsyncClient, owner_email: str
) -> None:
    before = await mail_count(app)
    known = await anon.put("/v3/forgot-password", json={"username": "owner"})
    after_known = await mail_count(app)
    unknown = await anon.put("/v3/forgot-password", json={"username": "nobody-here"})

    assert (known.status_code, known.content) == (unknown.status_code, unknown.content)
    assert known.json() == {
        "http_code": 200,
        "response_code": "SUCCESS",
        "response_msg": "An email notification has been sent.",
        "data": [],
    }
    assert after_known == before + 1
    assert await mail_count(app) == after_known  # nothing for the unknown one


async def test_forgot_username_answers_the_same_and_mails_the_username(
    app: FastAPI, client: httpx.AsyncClient, anon: httpx.AsyncClient, owner_email: str
) -> None:
    by_email = await anon.put("/v3/forgot-username", json={"email": EMAIL.upper()})
    by_phone = await anon.put(
        "/v3/forgot-username", json={"phone_number": 5184811001, "country": "US"}
    )
    unknown = await anon.put("/v3/forgot-username", json={"email": "nobody@example.com"})
    text = await mailed_text(client, EMAIL)

    assert by_email.content == by_phone.content == unknown.content
    assert by_email.status_code == 200
    assert "owner" in text.splitlines()


async def test_recovery_mail_to_one_address_is_capped_silently(
    app: FastAPI, anon: httpx.AsyncClient, owner_email: str, settings: Settings
) -> None:
    before = await mail_count(app)
    answers = {
        (await anon.put("/v3/forgot-password", json={"username": "owner"})).content
        for _ in range(settings.recovery_mails_per_address_per_hour + 2)
    }
    assert len(answers) == 1
    assert await mail_count(app) == before + settings.recovery_mails_per_address_per_hour


async def test_forgot_username_without_email_or_phone_is_a_bad_request(
    anon: httpx.AsyncClient,
) -> None:
    response = await anon.put("/v3/forgot-username", json={})
    assert response.status_code == 400


def test_the_sdks_ask_for_a_reminder_and_a_reset(live_server: Any) -> None:
    config = clicksend.Configuration(host=live_server.url)
    with clicksend.ApiClient(config) as api_client:
        api = clicksend.VerificationApi(api_client)
        password = api.forgot_password(
            forgot_password_request=clicksend.ForgotPasswordRequest(username="nobody")
        )
        username = api.forgot_username(
            forgot_username_request=clicksend.ForgotUsernameRequest(email="x@example.com")
        )
    assert password.response_code == username.response_code == "SUCCESS"
    assert password.data == [] and username.data == []

    if str(SDK5_PATH) not in sys.path:
        sys.path.insert(0, str(SDK5_PATH))
    sdk5: Any = importlib.import_module("clicksend_client")
    config5 = sdk5.Configuration()
    config5.host = live_server.url + "/v3"
    api5 = sdk5.AccountApi(sdk5.ApiClient(config5))
    answered = ast.literal_eval(
        api5.forgot_password_put(forgot_password=sdk5.ForgotPassword(username="nobody"))
    )
    status = None
    try:
        api5.forgot_password_verify_put(
            sdk5.AccountForgotPasswordVerify(
                subaccount_id=1, activation_token="not-a-token", password="long enough"
            )
        )
    except sdk5.rest.ApiException as exc:
        status = exc.status
    assert answered["response_msg"] == "An email notification has been sent."
    assert status == 400
