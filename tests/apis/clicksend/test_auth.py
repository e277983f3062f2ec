"""Authentication on the ClickSend API: Basic and Bearer, the spec's test accounts, rate limits."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from dovecote.accounts.service import TEST_API_KEY, create_account
from dovecote.app import create_app
from dovecote.core.security import hash_api_key
from dovecote.settings import Settings
from dovecote.storage.tables import api_keys, users


def basic(raw: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


@asynccontextmanager
async def serving(settings: Settings, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An unauthenticated client for an app built from `settings` with `changes`."""
    application: FastAPI = create_app(settings.model_copy(update=changes))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_it_asks_for_credentials_when_none_are_sent(anon: httpx.AsyncClient) -> None:
    response = await anon.get("/v3/account")

    assert response.status_code == 401
    body = response.json()
    assert body["http_code"] == 401
    assert body["response_code"] == "MISSING_CREDENTIALS"
    assert body["response_msg"]
    assert "data" in body
    assert response.headers["www-authenticate"].lower().startswith("basic")


async def test_it_refuses_wrong_unknown_and_malformed_credentials(
    anon: httpx.AsyncClient, settings: Settings
) -> None:
    owner = settings.owner_username
    cases = {
        "wrong key": basic(f"{owner}:00000000-0000-0000-0000-000000000000"),
        "wrong password": basic(f"{owner}:not-the-password"),
        "unknown user": basic(f"nobody:{settings.owner_api_key}"),
        "unsupported scheme": {"Authorization": "Digest x"},
        "not base64": {"Authorization": "Basic %%%not-base64%%%"},
        "no colon": basic(f"{owner}"),
        "empty secret": basic(f"{owner}:"),
        "empty bearer": {"Authorization": "Bearer "},
        "unknown bearer key": {"Authorization": "Bearer 00000000-0000-0000-0000-000000000000"},
        # Three users share the documented test key, so without a username it names nobody.
        "shared test key as bearer": {"Authorization": f"Bearer {TEST_API_KEY}"},
    }
    for case, headers in cases.items():
        response = await anon.get("/v3/account", headers=headers)

        assert response.status_code == 401, case
        body = response.json()
        assert body["http_code"] == 401, case
        assert body["response_code"] == "INVALID_CREDENTIALS", case


async def test_it_accepts_a_key_or_password_by_basic_and_a_key_by_bearer(
    anon: httpx.AsyncClient, settings: Settings
) -> None:
    owner, key = settings.owner_username, settings.owner_api_key
    assert owner and key
    cases = {
        "username and api key": basic(f"{owner}:{key}"),
        # ClickSend's keys and usernames are case-insensitive.
        "other case": basic(f"{owner.upper()}:{key.lower()}"),
        "username and password": basic(f"{owner}:{settings.owner_password}"),
        "bearer api key": {"Authorization": f"Bearer {key}"},
    }
    for case, headers in cases.items():
        response = await anon.get("/v3/account", headers=headers)

        assert response.status_code == 200, case
        assert response.json()["data"]["username"] == owner, case


async def test_a_regenerated_key_or_changed_password_stops_working_at_once(
    anon: httpx.AsyncClient, settings: Settings
) -> None:
    owner = basic(f"{settings.owner_username}:{settings.owner_api_key}")
    sub = {
        "api_username": "rotating",
        "password": "first-password",
        "email": "rotating@example.com",
        "phone_number": "+61411111111",
        "first_name": "Ro",
        "last_name": "Tating",
    }
    created = (await anon.post("/v3/subaccounts", json=sub, headers=owner)).json()["data"]
    # The newest key in the table: on SQLite a successor could inherit its row id.
    old_key = basic(f"rotating:{created['api_key']}")
    old_password = basic("rotating:first-password")
    # Both are verified (and so remembered by the credential cache) before they change.
    assert (await anon.get("/v3/account", headers=old_key)).status_code == 200
    assert (await anon.get("/v3/account", headers=old_password)).status_code == 200

    regen = await anon.put(
        f"/v3/subaccounts/{created['subaccount_id']}/regen-api-key", headers=old_key
    )
    new_key = basic(f"rotating:{regen.json()['data']['api_key']}")
    changed = await anon.put("/v3/account", json={"password": "second"}, headers=new_key)

    assert regen.status_code == 200
    assert changed.status_code == 200
    assert (await anon.get("/v3/account", headers=old_key)).status_code == 401
    assert (await anon.get("/v3/account", headers=old_password)).status_code == 401
    assert (await anon.get("/v3/account", headers=new_key)).status_code == 200
    new_password = basic("rotating:second")
    assert (await anon.get("/v3/account", headers=new_password)).status_code == 200


async def test_the_spec_test_accounts_behave_as_documented(anon: httpx.AsyncClient) -> None:
    nocredit = await anon.get("/v3/account", headers=basic(f"nocredit:{TEST_API_KEY}"))
    notactive = await anon.get("/v3/account", headers=basic(f"notactive:{TEST_API_KEY}"))
    banned = await anon.get("/v3/account", headers=basic(f"banned:{TEST_API_KEY}"))

    assert nocredit.status_code == 200
    assert nocredit.json()["data"]["username"] == "nocredit"
    assert nocredit.json()["data"]["balance"] == "0.000000"
    assert nocredit.json()["data"]["active"] == 1
    assert notactive.status_code == 200
    assert notactive.json()["data"]["username"] == "notactive"
    assert notactive.json()["data"]["active"] == 0
    assert banned.status_code == 403
    assert banned.json()["http_code"] == 403
    assert banned.json()["response_code"] == "ACCOUNT_BANNED"


async def test_the_test_accounts_do_not_exist_when_test_credentials_are_off(
    settings: Settings,
) -> None:
    async with serving(settings, test_credentials=True) as http:
        before = await http.get("/v3/account", headers=basic(f"nocredit:{TEST_API_KEY}"))
    # The same database started again without them: the accounts are removed.
    async with serving(settings, test_credentials=False) as http:
        after = {
            username: await http.get("/v3/account", headers=basic(f"{username}:{TEST_API_KEY}"))
            for username in ("nocredit", "notactive", "banned")
        }
        owner = await http.get(
            "/v3/account", headers=basic(f"{settings.owner_username}:{settings.owner_api_key}")
        )

    assert before.status_code == 200
    assert {name: r.status_code for name, r in after.items()} == dict.fromkeys(after, 401)
    assert owner.status_code == 200


async def test_the_fourth_request_over_a_limit_of_three_is_throttled(settings: Settings) -> None:
    owner = basic(f"{settings.owner_username}:{settings.owner_api_key}")
    # Per day, not per minute: the sliding-window counter weighs the previous window by the
    # part of it still inside the window, so requests straddling a minute boundary could
    # count as 2.99 and let one more through — a flake CI met once. A day's boundary is
    # as good as never crossed by one test.
    async with serving(settings, rate_limit="3/day") as http:
        statuses = [(await http.get("/v3/account", headers=owner)).status_code for _ in range(3)]
        throttled = await http.get("/v3/account", headers=owner)
        other_account = await http.get("/v3/account", headers=basic(f"nocredit:{TEST_API_KEY}"))

    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    body = throttled.json()
    assert body["http_code"] == 429
    assert body["response_code"] == "TOO_MANY_REQUESTS"
    assert 1 <= int(throttled.headers["retry-after"]) <= 24 * 3600  # within the window
    # The limit is per account: another account is not slowed down by the owner.
    assert other_account.status_code == 200


async def test_repeated_failed_logins_from_one_address_are_throttled(settings: Settings) -> None:
    owner = basic(f"{settings.owner_username}:{settings.owner_api_key}")
    # Per day for the same reason as the request limit above.
    async with serving(settings, auth_failure_limit="3/day") as http:
        failures = [
            (await http.get("/v3/account", headers=basic("owner:wrong-guess"))).status_code
            for _ in range(3)
        ]
        fourth = await http.get("/v3/account", headers=basic("owner:another-guess"))
        even_right = await http.get("/v3/account", headers=owner)

    assert failures == [401, 401, 401]
    assert fourth.status_code == 429
    assert fourth.json()["response_code"] == "TOO_MANY_REQUESTS"
    # Once throttled, the address gets no verdict at all, so a right guess reveals nothing.
    assert even_right.status_code == 429


async def test_a_renamed_user_cannot_keep_logging_in_with_the_old_name(settings: Settings) -> None:
    old = basic(f"{settings.owner_username}:{settings.owner_api_key}")
    async with serving(settings) as http:
        assert (await http.get("/v3/account", headers=old)).status_code == 200  # now cached
        renamed = await http.put("/v3/account", headers=old, json={"username": "renamed-owner"})
        after = await http.get("/v3/account", headers=old)
        new = await http.get(
            "/v3/account", headers=basic(f"renamed-owner:{settings.owner_api_key}")
        )

    assert renamed.status_code == 200
    assert after.status_code == 401
    assert new.status_code == 200


async def test_failed_logins_are_counted_per_username_so_a_shared_address_is_not_locked_out(
    settings: Settings,
) -> None:
    owner_key = settings.owner_api_key
    # Per hour: a limit per minute could roll into its next window mid-test.
    async with serving(settings, auth_failure_limit="3/hour") as http:
        failures = [
            (await http.get("/v3/account", headers=basic("owner:wrong-guess"))).status_code
            for _ in range(3)
        ]
        # Logins are case-insensitive, so another case is the same name, still throttled.
        other_case = await http.get("/v3/account", headers=basic("OWNER:another-guess"))
        # Everyone else behind the same address (one NAT) logs in as before ...
        neighbour = await http.get("/v3/account", headers=basic(f"nocredit:{TEST_API_KEY}"))
        # ... and a neighbour's typo is a 401 of its own, not a 429.
        neighbour_typo = await http.get("/v3/account", headers=basic("nocredit:typo"))
        # Bearer failures count per key (by hash): other keys are unaffected.
        bearer_failures = [
            (await http.get("/v3/account", headers={"Authorization": "Bearer 0-bad"})).status_code
            for _ in range(3)
        ]
        bearer_again = await http.get("/v3/account", headers={"Authorization": "Bearer 0-bad"})
        bearer_right = await http.get(
            "/v3/account", headers={"Authorization": f"Bearer {owner_key}"}
        )

    assert failures == [401, 401, 401]
    assert other_case.status_code == 429
    assert neighbour.status_code == 200
    assert neighbour.json()["data"]["username"] == "nocredit"
    assert neighbour_typo.status_code == 401
    assert bearer_failures == [401, 401, 401]
    assert bearer_again.status_code == 429
    assert bearer_right.status_code == 200


async def test_a_deleted_users_cached_credentials_never_log_in_as_whoever_gets_its_ids(
    app: FastAPI, settings: Settings
) -> None:
    owner = basic(f"{settings.owner_username}:{settings.owner_api_key}")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        sub = {
            "api_username": "leaving",
            "password": "first-password",
            "email": "leaving@example.com",
            "phone_number": "+61411111111",
            "first_name": "Lea",
            "last_name": "Ving",
        }
        created = (await http.post("/v3/subaccounts", json=sub, headers=owner)).json()["data"]
        old_bearer = {"Authorization": f"Bearer {created['api_key']}"}
        old_basic = basic(f"leaving:{created['api_key']}")
        # Both verified, so both are now in the credential cache.
        assert (await http.get("/v3/account", headers=old_bearer)).status_code == 200
        assert (await http.get("/v3/account", headers=old_basic)).status_code == 200
        deleted = await http.delete(f"/v3/subaccounts/{created['subaccount_id']}", headers=owner)
        # Another tenant signs up, even taking the freed username: its user and key are
        # the newest rows, where SQLite used to hand out the deleted rows' ids again.
        async with app.state.runtime.engine.begin() as conn:
            stranger = await create_account(
                conn, username="leaving", account_name="Someone else", balance_micros=1
            )
        bearer_after = await http.get("/v3/account", headers=old_bearer)
        basic_after = await http.get("/v3/account", headers=old_basic)
        stranger_login = await http.get(
            "/v3/account", headers={"Authorization": f"Bearer {stranger.api_key}"}
        )

    assert deleted.status_code == 200
    assert bearer_after.status_code == 401, bearer_after.text
    assert basic_after.status_code == 401, basic_after.text
    assert stranger_login.json()["data"]["account_name"] == "Someone else"
    assert stranger.user.id > created["subaccount_id"]  # ids are never reused


async def test_a_cached_credential_is_bound_to_its_key_and_account_not_just_to_ids(
    app: FastAPI, settings: Settings
) -> None:
    """Whatever hands out ids (a restored backup, a manual insert, a database that
    reuses them), a cache entry must never accept a row that only shares its ids."""
    owner = basic(f"{settings.owner_username}:{settings.owner_api_key}")
    engine = app.state.runtime.engine
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        sub = {
            "api_username": "leaving",
            "password": "first-password",
            "email": "leaving@example.com",
            "phone_number": "+61411111111",
            "first_name": "Lea",
            "last_name": "Ving",
        }
        created = (await http.post("/v3/subaccounts", json=sub, headers=owner)).json()["data"]
        user_id = created["subaccount_id"]
        headers = {
            "bearer key": {"Authorization": f"Bearer {created['api_key']}"},
            "basic key": basic(f"leaving:{created['api_key']}"),
            "basic password": basic("leaving:first-password"),
        }
        for case, header in headers.items():  # all verified, so all cached
            assert (await http.get("/v3/account", headers=header)).status_code == 200, case
        async with engine.connect() as conn:
            key_id = (
                await conn.execute(sa.select(api_keys.c.id).where(api_keys.c.user_id == user_id))
            ).scalar_one()
        async with engine.begin() as conn:
            stranger = await create_account(
                conn, username="stranger", account_name="Someone else", balance_micros=1
            )
        await http.delete(f"/v3/subaccounts/{user_id}", headers=owner)
        # Another tenant's user and key now hold exactly the deleted rows' ids (and name).
        async with engine.begin() as conn:
            await conn.execute(
                users.insert().values(
                    id=user_id,
                    account_id=stranger.account.id,
                    username="leaving",
                    password_hash=stranger.user.password_hash,
                    created_at=0,
                )
            )
            await conn.execute(
                api_keys.insert().values(
                    id=key_id,
                    user_id=user_id,
                    key_hash=hash_api_key(stranger.api_key),
                    created_at=0,
                )
            )
        after = {case: await http.get("/v3/account", headers=h) for case, h in headers.items()}

    for case, response in after.items():
        assert response.status_code == 401, (case, response.text)
