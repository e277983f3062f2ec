"""`/v3/numbers`: search the inventory, buy (assign + charge in one go), list, register;
inbound SMS to a bought number reaches its owner."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import clicksend
import httpx
import pytest
from fastapi import FastAPI

from dovecote.settings import Settings
from numbers_support import load, load_into, sdk5, sdk5_client, sdk5_result
from sms_support import as_caller, other_account, sdk


async def balance(client: httpx.AsyncClient) -> Decimal:
    return Decimal((await client.get("/v3/account")).json()["data"]["balance"])


def numbers_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["dedicated_number"] for item in response.json()["data"]["data"]]


async def test_a_search_lists_numbers_for_sale_in_a_country(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)

    everything = await client.get("/v3/numbers/search/us")
    assert numbers_of(everything) == ["+12025550101", "+12025550188", "+13105550123"]
    first = everything.json()["data"]["data"][0]
    assert first == {
        "country": "US",
        "country_name": "United States",
        "dedicated_number": "+12025550101",
        "currency": "USD",
        "price": "2.50",
        "price_setup": "0.00",
        "price_monthly": "2.50",
        "price_total": "2.50",
        "number_type": "longcode",
        "type": "mms,sms",
    }
    assert everything.json()["data"]["_currency"]["currency_name_short"] == "USD"
    starts = await client.get("/v3/numbers/search/US", params={"search": "310", "search_type": 0})
    assert numbers_of(starts) == ["+13105550123"]
    ends = await client.get("/v3/numbers/search/US", params={"search": "0188", "search_type": 2})
    assert numbers_of(ends) == ["+12025550188"]
    # The spec's template `?{search}=1&{search_type}=2`.
    spec_form = await client.get("/v3/numbers/search/US?202=1&0=2")
    assert numbers_of(spec_form) == ["+12025550101", "+12025550188"]
    assert numbers_of(await client.get("/v3/numbers/search/AU")) == ["+61481070206"]


async def test_a_search_with_a_bad_country_or_pattern_is_a_400(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)
    for path, field in [
        ("/v3/numbers/search/XX", "country"),
        ("/v3/numbers/search/US?search=5%25", "search"),
        ("/v3/numbers/search/US?search=5&search_type=7", "search_type"),
        ("/v3/numbers/search/US?search=5&search_type=x", "search_type"),
    ]:
        response = await client.get(path)
        assert response.status_code == 400, path
        assert field in response.json()["response_msg"], path


async def test_buying_assigns_the_number_and_charges_its_monthly_price(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)
    before = await balance(client)

    bought = await client.post("/v3/numbers/buy/+12025550101")

    assert bought.status_code == 200, bought.text
    assert bought.json()["response_msg"] == "Here is your new number."
    data = bought.json()["data"]
    assert data["dedicated_number"] == "+12025550101"
    assert (data["price_total"], data["_price_monthly"], data["country"]) == ("2.50", "2.50", "US")
    assert await balance(client) == before - Decimal("2.50")
    listed = await client.get("/v3/numbers")
    assert numbers_of(listed) == ["+12025550101"]
    assert listed.json()["data"]["data"][0]["status"]["label"] == "REGISTRATION_NOT_REQUIRED"
    assert "+12025550101" not in numbers_of(await client.get("/v3/numbers/search/US"))
    again = await client.post("/v3/numbers/buy/+12025550101")
    assert again.status_code == 400
    assert "already yours" in again.json()["response_msg"]
    assert await balance(client) == before - Decimal("2.50")


async def test_an_unknown_or_taken_number_cannot_be_bought_and_nothing_is_charged(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)
    before = await balance(client)

    unknown = await client.post("/v3/numbers/buy/+12025550999")
    assert unknown.status_code == 400
    assert unknown.json()["response_msg"] == "+12025550999 is not a number Dovecote offers."
    garbage = await client.post("/v3/numbers/buy/hello")
    assert garbage.status_code == 400
    assert (await client.post("/v3/numbers/buy/+12025550188")).status_code == 200
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        taken = await theirs.post("/v3/numbers/buy/+12025550188")
        assert taken.status_code == 400
        assert "not available" in taken.json()["response_msg"]
        assert numbers_of(await theirs.get("/v3/numbers")) == []
    assert await balance(client) == before - Decimal("2.50")


async def test_a_number_the_balance_does_not_cover_stays_for_sale(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)
    async with app.state.runtime.engine.begin() as conn:
        from dovecote.accounts import service as accounts

        poor = await accounts.create_account(conn, username="poor", balance_micros=1_000_000)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
        auth=("poor", poor.api_key),
    ) as theirs:
        refused = await theirs.post("/v3/numbers/buy/+61481070206")
        assert refused.status_code == 400
        assert refused.json()["response_code"] == "INSUFFICIENT_CREDIT"
        assert numbers_of(await theirs.get("/v3/numbers")) == []
        assert await balance(theirs) == Decimal("1.00")
    assert "+61481070206" in numbers_of(await client.get("/v3/numbers/search/AU"))


async def test_two_accounts_racing_for_a_number_one_gets_it_and_one_pays(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        mine, other = await asyncio.gather(
            client.post("/v3/numbers/buy/+13105550123"), theirs.post("/v3/numbers/buy/+13105550123")
        )
        statuses = sorted([mine.status_code, other.status_code])
        assert statuses == [200, 400]
        paid = [await balance(client) == Decimal("96.00"), await balance(theirs) == Decimal("6.00")]
        assert sorted(paid) == [False, True]


async def test_a_registration_marks_the_accounts_numbers_of_that_type_and_country(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)
    await client.post("/v3/numbers/buy/+13105550123")
    details = {
        "full_name": "Ada",
        "company_name": "Dovecote",
        "email": "ada@example.com",
        "website_url": "https://example.com",
        "sample_message": "Your code is 1234",
        "primary_use_case": "2FA",
        "company_number": "123",
        "area_code": "310",
    }

    path = "/v3/numbers/registrations/number-types/tollfree/country/us"
    registered = await client.post(path, json=details)

    assert registered.status_code == 200, registered.text
    assert registered.json()["data"]["numbers"] == ["+13105550123"]
    status = (await client.get("/v3/numbers")).json()["data"]["data"][0]["status"]
    assert (status["value"], status["label"]) == (4, "REGISTRATION_SUBMITTED")
    incomplete = await client.post(path, json={**details, "company_name": " "})
    assert incomplete.status_code == 400
    assert "company_name" in incomplete.json()["response_msg"]


async def test_an_inbound_sms_to_a_bought_number_reaches_its_owner(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await load(app)
    await client.post("/v3/numbers/buy/+12025550101")
    stranger = await other_account(app.state.runtime.engine)
    async with as_caller(app, stranger) as theirs:
        texted = await theirs.post(
            "/sandbox/sms/inbound",
            json={"from": "+61411111111", "to": "+1 202 555 0101", "body": "Hi owner"},
        )
        assert texted.status_code == 200, texted.text
        assert texted.json()["data"]["custom_string"] == ""
        assert (await theirs.get("/v3/sms/inbound")).json()["data"]["total"] == 0
        threaded = await theirs.post(
            "/sandbox/sms/inbound",
            json={
                "from": "+61411111111",
                "to": "+12025550101",
                "body": "x",
                "original_message_id": texted.json()["data"]["message_id"],
            },
        )
        assert threaded.status_code == 400
    inbox = (await client.get("/v3/sms/inbound")).json()["data"]["data"]
    assert [(m["body"], m["to"]) for m in inbox] == [("Hi owner", "+12025550101")]


def test_the_sdks_search_buy_list_and_register(live_server: Any, settings: Settings) -> None:
    asyncio.run(load_into(settings.database_url))
    with sdk(live_server.url, settings) as api_client:
        api = clicksend.NumbersApi(api_client)
        found = api.view_available_numbers("US")
        assert isinstance(found, clicksend.ViewAvailableNumbers)
        assert found.data is not None and found.data.data is not None
        assert [n.dedicated_number for n in found.data.data][:1] == ["+12025550101"]
        assert found.data.data[0].price_monthly == "2.50"

        request = clicksend.BuyNumberRequest(dedicated_number="+12025550101", type="sms")
        bought = api.purchase_dedicated_number("+12025550101", request)
        assert bought.data is not None and bought.data.price_total == "2.50"

        mine = api.view_your_numbers(page=1, limit=15)
        assert mine.data is not None and mine.data.data is not None
        assert [n.dedicated_number for n in mine.data.data] == ["+12025550101"]
        assert mine.data.data[0].status is not None and mine.data.data[0].status.value == 0

        details = clicksend.RegisterNumbersRequest(
            full_name="Ada",
            company_name="Dovecote",
            email="ada@example.com",
            website_url="https://example.com",
            sample_message="Hello",
            primary_use_case="alerts",
            company_number="1",
            area_code="202",
        )
        registered = api.register_numbers("longcode", "US", register_numbers_request=details)
        assert registered.data is not None and registered.data["numbers"] == ["+12025550101"]

    v5 = sdk5()
    api5 = v5.NumberApi(sdk5_client(v5, live_server.url, settings))
    result = sdk5_result(api5.numbers_search_by_country_get("US", search="0188", search_type=2))
    assert [n["dedicated_number"] for n in result["data"]["data"]] == ["+12025550188"]
    with pytest.raises(v5.rest.ApiException) as refused:
        api5.numbers_buy_by_dedicated_number_post("+19995550000")
    assert refused.value.status == 400
