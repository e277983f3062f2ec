"""`/v3/subaccounts`: the SDK 6.0.2 round trip, permissions, tenant isolation, bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from clicksend.exceptions import NotFoundException, UnauthorizedException
from fastapi import FastAPI

from dovecote.accounts import store as accounts_store
from dovecote.accounts.service import create_account
from dovecote.settings import Settings
from dovecote.storage.tables import ACCESS_FLAGS, users


def sdk(url: str, username: str | None, key: str | None) -> clicksend.ApiClient:
    return clicksend.ApiClient(clicksend.Configuration(host=url, username=username, password=key))


def new_subaccount(username: str, **extra: Any) -> dict[str, Any]:
    return {
        "api_username": username,
        "password": "s3cret-password",
        "email": f"{username}@example.com",
        "phone_number": "+61411111111",
        "first_name": "Sub",
        "last_name": "Account",
        **extra,
    }


async def create(client: httpx.AsyncClient, username: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/v3/subaccounts", json=new_subaccount(username, **extra))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


@asynccontextmanager
async def login(app: FastAPI, username: str, key: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=(username, key)
    ) as http:
        yield http


async def count_users(app: FastAPI) -> int:
    async with app.state.runtime.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(users))).scalar_one())


def test_the_sdk_creates_lists_reads_updates_regenerates_and_deletes_a_subaccount(
    live_server: Any, settings: Settings
) -> None:
    url = live_server.url
    with sdk(url, settings.owner_username, settings.owner_api_key) as owner_client:
        api = clicksend.SubaccountsApi(owner_client)
        request = clicksend.CreateSubaccountRequest(**new_subaccount("alice", access_users=0))
        created = api.create_subaccount(create_subaccount_request=request)
        assert isinstance(created, clicksend.CreateSubaccount)
        assert created.data is not None
        sub_id = created.data.subaccount_id
        first_key = created.data.api_key
        assert isinstance(sub_id, int)
        assert first_key is not None and len(first_key) == 36
        assert created.data.api_username == "alice"
        assert created.data.access_users == 0
        assert created.data.is_main == 0

        listed = api.view_subaccounts()
        fetched = api.view_specific_subaccount(str(sub_id))
        updated = api.update_subaccount(
            str(sub_id),
            update_subaccount_request=clicksend.UpdateSubaccountRequest(
                access_sms=0, email="alice@new.example"
            ),
        )
        with sdk(url, "alice", first_key) as alice_client:
            alice_before = clicksend.ManagementApi(alice_client).view_account_details()
        regenerated = api.generate_new_api_key(str(sub_id))
        assert regenerated.data is not None
        second_key = regenerated.data.api_key
        with sdk(url, "alice", first_key) as alice_client, pytest.raises(UnauthorizedException):
            clicksend.ManagementApi(alice_client).view_account_details()
        with sdk(url, "alice", second_key) as alice_client:
            alice_after = clicksend.ManagementApi(alice_client).view_account_details()
        deleted = api.delete_subaccount(str(sub_id))
        with pytest.raises(NotFoundException):
            api.view_specific_subaccount(str(sub_id))
        listed_after = api.view_subaccounts()

    assert listed.data is not None
    assert listed.data.total == 2  # the owner and alice
    assert (listed.data.per_page, listed.data.current_page, listed.data.last_page) == (15, 1, 1)
    assert (listed.data.var_from, listed.data.to) == (1, 2)
    assert listed.data.next_page_url is None
    assert listed.data.prev_page_url is None
    assert listed.data.data is not None
    assert [s.api_username for s in listed.data.data] == [settings.owner_username, "alice"]
    assert all(s.api_key is None for s in listed.data.data)

    assert fetched.data is not None
    assert fetched.data.api_username == "alice"
    assert fetched.data.email == "alice@example.com"
    assert fetched.data.api_key is None  # shown once, at creation

    assert updated.data is not None
    assert updated.data.access_sms == 0
    assert updated.data.email == "alice@new.example"

    assert alice_before.data is not None and alice_before.data.username == "alice"
    assert second_key is not None and second_key != first_key
    assert alice_after.data is not None and alice_after.data.username == "alice"

    assert deleted.data is True
    assert listed_after.data is not None and listed_after.data.total == 1


async def test_a_subaccount_without_access_users_cannot_manage_subaccounts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    bob = await create(client, "bob", access_users=0)
    other = await create(client, "carol")

    async with login(app, "bob", bob["api_key"]) as as_bob:
        attempts = [
            await as_bob.get("/v3/subaccounts"),
            await as_bob.post("/v3/subaccounts", json=new_subaccount("mallory")),
            await as_bob.get(f"/v3/subaccounts/{other['subaccount_id']}"),
            await as_bob.put(f"/v3/subaccounts/{other['subaccount_id']}", json={"notes": "x"}),
            await as_bob.delete(f"/v3/subaccounts/{other['subaccount_id']}"),
            await as_bob.put(f"/v3/subaccounts/{other['subaccount_id']}/regen-api-key"),
        ]
        own = await as_bob.get(f"/v3/subaccounts/{bob['subaccount_id']}")

    for response in attempts:
        assert response.status_code == 403, response.request.url
        assert response.json()["response_code"] == "FORBIDDEN"
    assert own.status_code == 200  # reading itself needs no permission
    names = [
        s["api_username"] for s in (await client.get("/v3/subaccounts")).json()["data"]["data"]
    ]
    assert "mallory" not in names
    assert (await client.get(f"/v3/subaccounts/{other['subaccount_id']}")).json()["data"][
        "notes"
    ] is None


async def test_a_subaccount_with_access_users_cannot_take_over_the_main_user(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    manager = await create(client, "manager", access_users=1, access_billing=0)
    main_id = (await client.get("/v3/account")).json()["data"]["user_id"]

    async with login(app, "manager", manager["api_key"]) as as_manager:
        password = await as_manager.put(f"/v3/subaccounts/{main_id}", json={"password": "mine"})
        regen = await as_manager.put(f"/v3/subaccounts/{main_id}/regen-api-key")
        delete = await as_manager.delete(f"/v3/subaccounts/{main_id}")
        # Managing ordinary subaccounts is what access_users is for.
        made = await as_manager.post("/v3/subaccounts", json=new_subaccount("helper"))

    assert password.status_code == 403
    assert regen.status_code == 403
    assert delete.status_code == 400
    assert made.status_code == 200
    # The owner's key and password still work, and nothing else took them.
    assert (await client.get("/v3/account")).status_code == 200
    async with login(app, settings.owner_username or "", "mine") as stolen:
        assert (await stolen.get("/v3/account")).status_code == 401


async def test_another_account_cannot_touch_this_accounts_subaccounts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    victim = await create(client, "victim", notes="keep me")
    async with app.state.runtime.engine.begin() as conn:
        intruder = await create_account(conn, username="intruder", balance_micros=1_000_000)
    path = f"/v3/subaccounts/{victim['subaccount_id']}"

    async with login(app, "intruder", intruder.api_key) as as_intruder:
        attempts = {
            "read": await as_intruder.get(path),
            "update": await as_intruder.put(path, json={"notes": "mine", "password": "pw"}),
            "delete": await as_intruder.delete(path),
            "regen": await as_intruder.put(f"{path}/regen-api-key"),
        }
        own_list = (await as_intruder.get("/v3/subaccounts")).json()["data"]

    for action, response in attempts.items():
        assert response.status_code == 404, action
        assert response.json()["response_code"] == "NOT_FOUND", action
    assert [s["api_username"] for s in own_list["data"]] == ["intruder"]
    row = (await client.get(path)).json()["data"]
    assert row["notes"] == "keep me"
    async with login(app, "victim", victim["api_key"]) as as_victim:
        assert (await as_victim.get("/v3/account")).status_code == 200


async def test_a_taken_username_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    await create(client, "dupe")
    before = await count_users(app)

    for username in ("dupe", "DUPE", "owner"):
        response = await client.post("/v3/subaccounts", json=new_subaccount(username))

        assert response.status_code == 400, username
        assert response.json()["response_code"] == "BAD_REQUEST"
        assert "already taken" in response.json()["response_msg"]
    assert await count_users(app) == before


async def test_missing_or_invalid_fields_are_refused_by_name_and_nothing_is_written(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await count_users(app)
    complete = new_subaccount("newbie")
    cases: list[tuple[str, dict[str, Any]]] = [
        (field, {k: v for k, v in complete.items() if k != field})
        for field in ("api_username", "password", "email", "phone_number", "first_name")
    ]
    cases += [
        ("access_users", {**complete, "access_users": 2}),
        ("api_username", {**complete, "api_username": "u" * 101}),
        ("last_name", {**complete, "last_name": ""}),
    ]

    for field, body in cases:
        response = await client.post("/v3/subaccounts", json=body)

        assert response.status_code == 400, field
        assert response.json()["http_code"] == 400
        assert field in response.json()["response_msg"], field
    assert await count_users(app) == before


def only(*granted: str) -> dict[str, int]:
    """Every permission flag, 1 for those named and 0 for the rest."""
    return {flag: int(flag in granted) for flag in ACCESS_FLAGS}


def flags_of(subaccount: dict[str, Any]) -> dict[str, int]:
    return {flag: subaccount[flag] for flag in ACCESS_FLAGS}


async def test_a_subaccount_cannot_grant_itself_permissions_or_change_its_own_flags(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    limited = await create(client, "limited", **only("access_users"))
    own = f"/v3/subaccounts/{limited['subaccount_id']}"
    account_before = (await client.get("/v3/account")).json()["data"]

    async with login(app, "limited", limited["api_key"]) as as_limited:
        escalate = await as_limited.put(
            own, json={"access_sms": 1, "access_settings": 1, "access_reporting": 1}
        )
        account_change = await as_limited.put("/v3/account", json={"account_name": "Mine now"})
        # Not even downwards: a user's own permissions are someone else's to set.
        drop_own = await as_limited.put(own, json={"access_users": 0})
        # Sending its flags unchanged (as an SDK round trip does) changes nothing, so is fine.
        unchanged = await as_limited.put(own, json={**only("access_users"), "notes": "me"})

    for response in (escalate, drop_own):
        assert response.status_code == 403, response.text
        assert response.json()["http_code"] == 403
        assert response.json()["response_code"] == "FORBIDDEN"
    assert account_change.status_code == 403
    assert unchanged.status_code == 200, unchanged.text
    stored = (await client.get(own)).json()["data"]
    assert flags_of(stored) == only("access_users")
    assert (await client.get("/v3/account")).json()["data"] == account_before


async def test_a_subaccount_grants_no_permission_it_lacks_and_defaults_to_its_own(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    limited = await create(client, "limited", **only("access_users", "access_sms"))
    before = await count_users(app)

    async with login(app, "limited", limited["api_key"]) as as_limited:
        granting = await as_limited.post(
            "/v3/subaccounts", json=new_subaccount("granted", access_settings=1)
        )
        defaulted = await as_limited.post("/v3/subaccounts", json=new_subaccount("defaulted"))
        helper = defaulted.json()["data"]
        path = f"/v3/subaccounts/{helper['subaccount_id']}"
        raise_helper = await as_limited.put(path, json={"access_reporting": 1})
        revoke_helper = await as_limited.put(path, json={"access_sms": 0})

    assert granting.status_code == 403, granting.text
    assert granting.json()["response_code"] == "FORBIDDEN"
    assert "access_settings" in granting.json()["response_msg"]
    assert defaulted.status_code == 200, defaulted.text
    # ClickSend's default (every permission) narrowed to what the creator holds.
    assert flags_of(helper) == only("access_users", "access_sms")
    assert raise_helper.status_code == 403
    assert revoke_helper.status_code == 200, revoke_helper.text
    assert flags_of((await client.get(path)).json()["data"]) == only("access_users")
    assert await count_users(app) == before + 1  # only "defaulted"

    # The main user holds every permission, so its subaccounts default to all of them.
    full = await create(client, "full")
    assert flags_of(full) == only(*ACCESS_FLAGS)


async def test_a_subaccount_cannot_take_over_a_subaccount_holding_more_permissions(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    limited = await create(client, "limited", **only("access_users"))
    powerful = await create(client, "powerful", **only("access_users", "access_settings"))
    peer = await create(client, "peer", **only("access_users"))

    async with login(app, "limited", limited["api_key"]) as as_limited:
        powerful_path = f"/v3/subaccounts/{powerful['subaccount_id']}"
        password = await as_limited.put(powerful_path, json={"password": "taken-over"})
        regen = await as_limited.put(f"{powerful_path}/regen-api-key")
        peer_password = await as_limited.put(
            f"/v3/subaccounts/{peer['subaccount_id']}", json={"password": "reset-by-peer"}
        )

    assert password.status_code == 403
    assert regen.status_code == 403
    assert peer_password.status_code == 200
    async with login(app, "powerful", "taken-over") as stolen:
        assert (await stolen.get("/v3/account")).status_code == 401
    async with login(app, "powerful", powerful["api_key"]) as as_powerful:
        assert (await as_powerful.get("/v3/account")).status_code == 200


async def test_a_username_with_a_colon_is_refused_by_name(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await count_users(app)

    # Basic authorization splits at the first ':', so such a user could never log in.
    response = await client.post("/v3/subaccounts", json=new_subaccount("ali:ce"))

    assert response.status_code == 400
    assert response.json()["response_code"] == "BAD_REQUEST"
    assert "api_username" in response.json()["response_msg"]
    assert await count_users(app) == before


async def test_concurrent_creates_of_one_username_in_different_cases_make_one_user(
    app: FastAPI, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["Race0x", "race0X", "RACE0X", "rAcE0x", "race0x"]
    lookup = accounts_store.get_user_by_username

    async def slow_lookup(conn: Any, username: str) -> Any:
        found = await lookup(conn, username)
        if username.lower() == "race0x":
            await asyncio.sleep(0.3)  # every request passes the check before any inserts
        return found

    monkeypatch.setattr(accounts_store, "get_user_by_username", slow_lookup)

    # Each request checks the name is free before inserting; only the database's unique
    # index on lower(username) can stop all of them passing the check at once.
    responses = await asyncio.gather(
        *(client.post("/v3/subaccounts", json=new_subaccount(name)) for name in names)
    )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (len(names) - 1), [r.text for r in responses]
    for response in responses:
        if response.status_code == 400:
            assert response.json()["response_code"] == "BAD_REQUEST"
            assert "already taken" in response.json()["response_msg"]
    [winner] = [r.json()["data"] for r in responses if r.status_code == 200]
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(sa.func.count()).where(sa.func.lower(users.c.username) == "race0x")
        assert (await conn.execute(query)).scalar_one() == 1
    async with login(app, "RACE0X", winner["api_key"]) as as_winner:
        account = await as_winner.get("/v3/account")
    assert account.status_code == 200
    assert account.json()["data"]["username"] == winner["api_username"]


async def test_a_null_access_flag_is_refused(app: FastAPI, client: httpx.AsyncClient) -> None:
    # Found by the contract run (tests/test_contract.py): PUT /v3/subaccounts/1 with
    # {"access_settings": null} answered 200. A flag is 0 or 1 (the spec's number, SDK
    # 6.0.2's int); leaving it out keeps it, null is neither.
    created = await create(client, "nully")
    before = await count_users(app)

    update = await client.put(
        f"/v3/subaccounts/{created['subaccount_id']}", json={"access_settings": None}
    )
    create_with_null = await client.post(
        "/v3/subaccounts", json=new_subaccount("nullier", access_reporting=None)
    )

    assert update.status_code == 400, update.text
    assert "access_settings" in update.json()["response_msg"]
    assert create_with_null.status_code == 400, create_with_null.text
    assert await count_users(app) == before
