"""`/v3/reseller…`: settings, client accounts, transfers, the public sign-up page, and the
spec's example shapes for the operations no SDK has."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from account_support import mailed_text, token_in
from email_support import add_address
from reseller_support import (
    Login,
    balance_of,
    client_body,
    create_client,
    login,
    new_reseller,
    spec_example,
)

example = spec_example

SETTINGS = {
    "allow_public_signups": 1,
    "colour_navigation": "#9999FF",
    "company_name": "MyCompany",
    "default_margin": 10,
    "default_margin_numbers": 20,
    "logo_url_dark": "http://yourdomain.com/dark",
    "logo_url_light": "http://yourdomain.com/light",
    "subdomain": "mysubdomain",
    "trial_balance": 5,
}


def shape(value: Any) -> Any:
    """Keys and JSON kinds (numbers as one kind), recursively: what a client relies on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool | int | float):
        return "number"
    return type(value).__name__


async def test_a_non_reseller_is_refused_every_reseller_operation(
    client: httpx.AsyncClient,
) -> None:
    answers = [
        await client.get("/v3/reseller"),
        await client.put("/v3/reseller", json=SETTINGS),
        await client.get("/v3/reseller/accounts"),
        await client.post("/v3/reseller/accounts", json=client_body("nobody")),
        await client.get("/v3/reseller/accounts/1"),
        await client.put("/v3/reseller/accounts/1", json={"account_name": "x"}),
        await client.put(
            "/v3/reseller/transfer-credit",
            json={"client_user_id": "1", "balance": 1, "currency": "USD"},
        ),
    ]
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.json()["response_code"] == "NOT_A_RESELLER"
        assert "reseller=true" in answer.json()["response_msg"]
    # Nothing was created.
    assert (await client.get("/v3/subaccounts")).json()["data"]["total"] == 1


async def test_a_reseller_saves_and_reads_its_settings_in_the_spec_shapes(
    app: FastAPI, anon: httpx.AsyncClient
) -> None:
    reseller = await new_reseller(app, "acme")
    async with login(app, reseller) as http:
        fresh = await http.get("/v3/reseller")
        saved = await http.put("/v3/reseller", json=SETTINGS)
        read = await http.get("/v3/reseller")
        partial = await http.put("/v3/reseller", json={"company_name": "Acme Ltd"})
    public = await anon.get("/v3/reseller/MySubdomain")
    unknown = await anon.get("/v3/reseller/nosuchone")

    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["data"][0]["subdomain"] is None
    assert fresh.json()["data"][0]["reseller_user_id"] == reseller.user_id
    assert saved.status_code == 200, saved.text
    put_example = example("/reseller", "put")
    assert shape(saved.json()["data"]) == shape(put_example)
    assert saved.json()["data"] == {**SETTINGS, "reseller_user_id": reseller.user_id}
    get_example = example("/reseller", "get")
    data = read.json()["data"]
    # The GET example lacks the fields the PUT example added since (company name, logos).
    assert set(shape(get_example[0])) <= set(shape(data[0]))
    assert {k: shape(data[0])[k] for k in shape(get_example[0])} == shape(get_example[0])
    assert data[0]["trial_balance"] == "5.00"
    assert partial.json()["data"]["company_name"] == "Acme Ltd"
    assert partial.json()["data"]["subdomain"] == "mysubdomain"  # kept

    assert public.status_code == 200, public.text
    assert shape(public.json()["data"]) == shape(example("/reseller/{subdomain}", "get"))
    assert public.json()["data"]["reseller_user_id"] == reseller.user_id
    assert public.json()["data"]["company_name"] == "Acme Ltd"
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"subdomain": "accounts"},
        {"subdomain": "-bad-"},
        {"subdomain": "a" * 64},
        {"colour_navigation": "blue"},
        {"logo_url_light": "javascript:alert(1)"},
        {"default_margin": -1},
        {"default_margin": 1001},
        {"default_margin": 10.555},
        {"allow_public_signups": 2},
        {"trial_balance": -5},
        {"company_name": None},
    ],
)
async def test_bad_settings_are_a_clear_400_and_change_nothing(
    app: FastAPI, change: dict[str, Any]
) -> None:
    reseller = await new_reseller(app, "acme")
    async with login(app, reseller) as http:
        assert (await http.put("/v3/reseller", json=SETTINGS)).status_code == 200
        refused = await http.put("/v3/reseller", json=change)
        after = await http.get("/v3/reseller")
    assert refused.status_code == 400, refused.text
    assert refused.json()["response_code"] == "BAD_REQUEST"
    assert after.json()["data"][0]["subdomain"] == "mysubdomain"
    assert after.json()["data"][0]["default_margin"] == 10


async def test_a_subdomain_belongs_to_one_reseller(app: FastAPI) -> None:
    first = await new_reseller(app, "first")
    second = await new_reseller(app, "second")
    async with login(app, first) as http:
        assert (await http.put("/v3/reseller", json={"subdomain": "brand"})).status_code == 200
    async with login(app, second) as http:
        taken = await http.put("/v3/reseller", json={"subdomain": "Brand"})
    assert taken.status_code == 400
    assert "already taken" in taken.json()["response_msg"]


async def test_a_reseller_creates_lists_reads_and_updates_its_clients(app: FastAPI) -> None:
    reseller = await new_reseller(app, "acme", balance="50")
    async with login(app, reseller) as http:
        await http.put("/v3/reseller", json={"trial_balance": 2.5})
        created = await http.post("/v3/reseller/accounts", json=client_body("bob"))
        data = created.json()["data"]
        listed = await http.get("/v3/reseller/accounts")
        fetched = await http.get(f"/v3/reseller/accounts/{data['user_id']}")
        updated = await http.put(
            f"/v3/reseller/accounts/{data['user_id']}",
            json={"account_name": "Bob Renamed", "user_email": "bob@new.example"},
        )
        reseller_balance = await balance_of(http)

    assert created.status_code == 200, created.text
    assert shape(data)["_currency"] == shape(example("/reseller/accounts", "post"))["_currency"]
    for key in ("user_id", "username", "balance", "account_name", "country", "active"):
        assert key in data
    assert data["username"] == "bob" and data["country"] == "AU" and data["active"] == 1
    assert data["balance"] == "2.500000"  # the trial credit, moved from the reseller
    assert reseller_balance == "47.500000"
    assert len(data["_subaccount"]["api_key"]) == 36  # shown once
    assert data["_currency"]["currency_name_short"] == "USD"  # the reseller's currency

    page = listed.json()["data"]
    assert page["total"] == 1
    assert [c["username"] for c in page["data"]] == ["bob"]
    assert page["data"][0]["_subaccount"]["api_key"] is None
    assert fetched.json()["data"]["user_id"] == data["user_id"]
    assert updated.status_code == 200, updated.text
    assert updated.json()["data"]["account_name"] == "Bob Renamed"
    assert updated.json()["data"]["user_email"] == "bob@new.example"

    # The client logs in with its key as a separate account.
    bob = await _as(app, data)
    async with login(app, bob) as as_bob:
        account = (await as_bob.get("/v3/account")).json()["data"]
    assert account["account"] == data["account"] != (await _account_id(app, reseller))
    assert account["account_name"] == "Bob Renamed"


async def _as(app: FastAPI, data: dict[str, Any]) -> Login:
    return Login(data["username"], data["_subaccount"]["api_key"], data["user_id"], data["account"])


async def _account_id(app: FastAPI, who: Any) -> int:
    async with login(app, who) as http:
        return int((await http.get("/v3/account")).json()["data"]["account"])


@pytest.mark.parametrize(
    "change",
    [
        {"password": "x"},  # too short
        {"user_email": "not an email"},
        {"user_phone": "12"},
        {"country": "ZZ"},
        {"username": "a:b"},
        {"username": "owner"},  # taken
    ],
)
async def test_bad_client_changes_are_a_clear_400(app: FastAPI, change: dict[str, Any]) -> None:
    reseller = await new_reseller(app, "acme")
    async with login(app, reseller) as http:
        bob = await create_client(http, "bob")
        refused = await http.put(f"/v3/reseller/accounts/{bob.user_id}", json=change)
        after = (await http.get(f"/v3/reseller/accounts/{bob.user_id}")).json()["data"]
    assert refused.status_code == 400, refused.text
    assert after["username"] == "bob"
    assert after["user_email"] == "bob@client.example"


async def test_a_client_that_cannot_be_funded_is_not_created(app: FastAPI) -> None:
    reseller = await new_reseller(app, "acme", balance="1")
    async with login(app, reseller) as http:
        await http.put("/v3/reseller", json={"trial_balance": 5})
        refused = await http.post("/v3/reseller/accounts", json=client_body("bob"))
        listed = await http.get("/v3/reseller/accounts")
        balance = await balance_of(http)
    assert refused.status_code == 400
    assert refused.json()["response_code"] == "INSUFFICIENT_CREDIT"
    assert listed.json()["data"]["total"] == 0
    assert balance == "1.000000"
    async with login(app, reseller) as http:  # and the username is still free
        await http.put("/v3/reseller", json={"trial_balance": 0})
        assert (
            await http.post("/v3/reseller/accounts", json=client_body("bob"))
        ).status_code == 200


async def test_credit_moves_from_the_reseller_to_its_client(app: FastAPI) -> None:
    reseller = await new_reseller(app, "acme", balance="20")
    async with login(app, reseller) as http:
        bob = await create_client(http, "bob")
        moved = await http.put(
            "/v3/reseller/transfer-credit",
            json={"client_user_id": str(bob.user_id), "balance": 12.25, "currency": "usd"},
        )
        too_much = await http.put(
            "/v3/reseller/transfer-credit",
            json={"client_user_id": bob.user_id, "balance": 7.76, "currency": "USD"},
        )
        wrong_currency = await http.put(
            "/v3/reseller/transfer-credit",
            json={"client_user_id": bob.user_id, "balance": 1, "currency": "EUR"},
        )
        bad = [
            await http.put(
                "/v3/reseller/transfer-credit",
                json={"client_user_id": bob.user_id, "balance": amount, "currency": "USD"},
            )
            for amount in (0, -1, "lots", 1e30)
        ]
        reseller_balance = await balance_of(http)
    async with login(app, bob) as as_bob:
        bob_balance = await balance_of(as_bob)

    assert moved.status_code == 200, moved.text
    assert moved.json()["response_msg"] == "Your balance has been successfully transferred."
    assert moved.json()["data"]["balance"] == "12.250000"
    assert moved.json()["data"]["user_id"] == bob.user_id
    assert too_much.status_code == 400
    assert too_much.json()["response_code"] == "INSUFFICIENT_CREDIT"
    assert "nothing was transferred" in too_much.json()["response_msg"]
    assert wrong_currency.status_code == 400
    assert "USD" in wrong_currency.json()["response_msg"]
    assert [answer.status_code for answer in bad] == [400, 400, 400, 400]
    assert reseller_balance == "7.750000"
    assert bob_balance == "12.250000"


async def test_clients_pay_the_resellers_margin_and_a_new_margin_reprices_them(
    app: FastAPI,
) -> None:
    reseller = await new_reseller(app, "acme", balance="50")
    sms = {"messages": [{"to": "+12025550100", "body": "Hello"}]}
    async with login(app, reseller) as http:
        await http.put("/v3/reseller", json={"default_margin": 10})
        bob = await create_client(http, "bob")
        await http.put(
            "/v3/reseller/transfer-credit",
            json={"client_user_id": bob.user_id, "balance": 10, "currency": "USD"},
        )
        own = (await http.post("/v3/sms/price", json=sms)).json()["data"]["total_price"]
    async with login(app, bob) as as_bob:
        marked_up = (await as_bob.post("/v3/sms/price", json=sms)).json()["data"]["total_price"]
        sent = await as_bob.post("/v3/sms/send", json=sms)
        after_send = await balance_of(as_bob)
    async with login(app, reseller) as http:
        await http.put("/v3/reseller", json={"default_margin": 50.5})
    async with login(app, bob) as as_bob:
        # Another body: the one just sent is throttled (priced 0) for a minute.
        again = {"messages": [{"to": "+12025550100", "body": "Hello again"}]}
        repriced = (await as_bob.post("/v3/sms/price", json=again)).json()["data"]["total_price"]

    assert own > 0
    assert marked_up == pytest.approx(own * 1.10, abs=1e-6)
    assert sent.json()["data"]["total_price"] == pytest.approx(marked_up)
    assert float(after_send) == pytest.approx(10 - marked_up, abs=1e-6)
    assert repriced == pytest.approx(own * 1.505, abs=1e-6)


async def test_the_public_page_signs_up_inactive_clients_that_verify_by_email(
    app: FastAPI, anon: httpx.AsyncClient
) -> None:
    reseller = await new_reseller(app, "acme")
    body = {**client_body("carol"), "reseller_user_id": reseller.user_id}
    closed = await anon.post("/v3/reseller/accounts-public", json=body)
    async with login(app, reseller) as http:
        await http.put("/v3/reseller", json={"allow_public_signups": 1, "default_margin": 5})
    not_a_reseller = await anon.post(
        "/v3/reseller/accounts-public", json={**body, "reseller_user_id": 1}
    )
    signed_up = await anon.post("/v3/reseller/accounts-public", json=body)
    carol = Login("carol", "client-password-1", 0, 0)  # her password logs in too
    async with login(app, carol) as as_carol:
        token = token_in(await mailed_text(as_carol, "carol@client.example"), "Activation token")
    verified = await anon.put(f"/v3/account-verify/verify/{token}")
    async with login(app, reseller) as http:
        referrals = await http.get("/v3/referral/accounts")
        clients = await http.get("/v3/reseller/accounts")

    assert closed.status_code == 403, closed.text
    assert not_a_reseller.status_code == 404
    assert signed_up.status_code == 200, signed_up.text
    data = signed_up.json()["data"]
    assert data["active"] == 0
    assert shape(data)["_subaccount"]["api_key"] == "str"
    assert verified.status_code == 200, verified.text
    assert verified.json()["data"]["active"] == 1
    assert [c["username"] for c in clients.json()["data"]["data"]] == ["carol"]
    page = referrals.json()["data"]
    assert page["total"] == 1
    assert shape(page["data"][0]) == shape(example("/referral/accounts", "get")["data"][0])
    assert page["data"][0]["refered_user_id"] == data["user_id"]
    assert page["data"][0]["percentage_referral"] == 5


async def test_a_created_client_is_not_a_referral(app: FastAPI, client: httpx.AsyncClient) -> None:
    reseller = await new_reseller(app, "acme")
    async with login(app, reseller) as http:
        await create_client(http, "bob")
        referrals = await http.get("/v3/referral/accounts")
    mine = await client.get("/v3/referral/accounts")
    assert referrals.json()["data"]["total"] == 0
    assert mine.status_code == 200 and mine.json()["data"]["total"] == 0


async def test_a_user_without_access_reseller_cannot_act_for_the_reseller(app: FastAPI) -> None:
    reseller = await new_reseller(app, "acme")
    async with login(app, reseller) as http:
        sub = await http.post(
            "/v3/subaccounts",
            json={
                "api_username": "clerk",
                "password": "clerk-password",
                "email": "clerk@example.com",
                "phone_number": "+61411111111",
                "first_name": "C",
                "last_name": "K",
                "access_reseller": 0,
            },
        )
    clerk = Login("clerk", sub.json()["data"]["api_key"], 0, 0)
    async with login(app, clerk) as as_clerk:
        refused = await as_clerk.get("/v3/reseller/accounts")
    assert refused.status_code == 403
    assert "access_reseller" in refused.json()["response_msg"]


async def test_a_clients_email_quote_is_what_its_send_charges(app: FastAPI) -> None:
    """Email is priced outside `outbound.accept` for quotes: the margin must show there too."""
    reseller = await new_reseller(app, "acme", balance="50")
    async with login(app, reseller) as http:
        await http.put("/v3/reseller", json={"default_margin": 25})
        bob = await create_client(http, "bob")
        await http.put(
            "/v3/reseller/transfer-credit",
            json={"client_user_id": bob.user_id, "balance": 10, "currency": "USD"},
        )
    address_id = await add_address(
        app.state.runtime.engine, bob.account_id, bob.user_id, "news@bob.example"
    )
    mail = {
        "to": [{"email": "ann@example.net"}],
        "from": {"email_address_id": address_id},
        "subject": "Hi",
        "body": "<p>Hi</p>",
    }
    async with login(app, bob) as as_bob:
        quoted = (await as_bob.post("/v3/email/price", json=mail)).json()["data"]
        before = float(await balance_of(as_bob))
        sent = await as_bob.post("/v3/email/send", json=mail)
        after = float(await balance_of(as_bob))
    own_address = await add_address(
        app.state.runtime.engine, reseller.account_id, reseller.user_id, "news@acme.example"
    )
    async with login(app, reseller) as http:
        own = await http.post(
            "/v3/email/price", json={**mail, "from": {"email_address_id": own_address}}
        )
    assert sent.status_code == 200, sent.text
    assert before - after == pytest.approx(quoted["price"], abs=1e-6)
    assert quoted["price"] == pytest.approx(own.json()["data"]["price"] * 1.25, abs=1e-6)
    assert quoted["price"] > 0
