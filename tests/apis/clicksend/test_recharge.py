"""`/v3/recharge/*` and `/v3/pricing/{country}`: cards, packages, purchases, transactions,
invoices, through plain HTTP and the official SDK 6 (SDK 5 runs in test_sdk_models)."""

from __future__ import annotations

import io
from typing import Any

import clicksend
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pypdf import PdfReader

from dovecote.billing import ledger
from dovecote.settings import Settings
from dovecote.storage.tables import accounts, payment_cards, recharge_transactions

GOOD = {"number": "4242424242424242", "expiry_month": 12, "expiry_year": 2099, "cvc": "123"}


def card(**changes: Any) -> dict[str, Any]:
    return {**GOOD, "name": "Roland Robot", "bank_name": "Robotic Banking", **changes}


async def balance(app: FastAPI) -> int:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(accounts.c.balance_micros).order_by(accounts.c.id).limit(1)
        return int((await conn.execute(query)).scalar_one())


async def test_a_saved_card_keeps_only_a_token_and_its_last_four_digits(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    saved = await client.put("/v3/recharge/credit-card", json=card())
    shown = await client.get("/v3/recharge/credit-card")
    async with app.state.runtime.engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(sa.select(payment_cards))).mappings()]

    assert saved.status_code == 200, saved.text
    assert saved.json()["data"]["token"].startswith("tok_sandbox_")
    assert shown.json()["data"] == {
        "display_number": "XXXX-XXXX-XXXX-4242",
        "expiry_month": 12,
        "expiry_year": 2099,
        "name": "Roland Robot",
    }
    assert len(rows) == 1
    stored = " ".join(str(v) for v in rows[0].values())
    assert "424242424242" not in stored and "123" not in stored.split()
    assert rows[0]["last4"] == "4242"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"number": "4242424242424241"}, "INVALID_NUMBER"),
        ({"number": "42424242"}, "INVALID_NUMBER"),
        ({"number": "4000000000000002"}, "CARD_DECLINED"),
        ({"number": "4000000000009995"}, "INSUFFICIENT_FUNDS"),
        ({"number": "4000000000000069"}, "EXPIRED_CARD"),
        ({"expiry_year": 2001}, "EXPIRED_CARD"),
        ({"expiry_month": 13}, "INVALID_EXPIRY"),
        ({"cvc": "12"}, "INVALID_CVC"),
        ({"number": "378282246310005", "cvc": "123"}, "INVALID_CVC"),
    ],
)
async def test_a_card_the_provider_refuses_is_a_clear_400_and_nothing_is_saved(
    app: FastAPI, client: httpx.AsyncClient, changes: dict[str, Any], code: str
) -> None:
    answer = await client.put("/v3/recharge/credit-card", json=card(**changes))
    shown = await client.get("/v3/recharge/credit-card")

    assert answer.status_code == 400, answer.text
    assert answer.json()["response_code"] == code
    assert answer.json()["response_msg"]
    assert shown.status_code == 404


async def test_buying_a_package_charges_the_card_credits_the_balance_and_writes_the_ledger(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await balance(app)
    await client.put("/v3/recharge/credit-card", json=card())
    bought = await client.put("/v3/recharge/purchase/2")
    assert bought.status_code == 200, bought.text
    data = bought.json()["data"]
    listed = await client.get("/v3/recharge/transactions")
    one = await client.get(f"/v3/recharge/transactions/{data['invoice_number']}")
    async with app.state.runtime.engine.connect() as conn:
        entries = await ledger.entries(conn, 1, limit=1)
        wrong = await ledger.discrepancies(conn)

    assert (data["amount"], data["currency"]) == (50, "USD")
    assert await balance(app) == before + 50_000_000
    assert [(e.kind, e.amount_micros, e.reference) for e in entries] == [
        ("purchase", 50_000_000, data["invoice_number"])
    ]
    assert wrong == {}
    assert listed.json()["data"]["total"] == 1
    assert listed.json()["data"]["data"][0]["invoice_number"] == data["invoice_number"]
    assert one.json()["data"]["amount"] == 50.0


async def test_a_card_declined_at_charge_time_buys_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    before = await balance(app)
    saved = await client.put("/v3/recharge/credit-card", json=card(number="4000000000000341"))
    bought = await client.put("/v3/recharge/purchase/1")
    async with app.state.runtime.engine.connect() as conn:
        count = (
            await conn.execute(sa.select(sa.func.count()).select_from(recharge_transactions))
        ).scalar_one()

    assert saved.status_code == 200
    assert bought.status_code == 400
    assert bought.json()["response_code"] == "CARD_DECLINED"
    assert await balance(app) == before
    assert count == 0


async def test_no_card_or_no_such_package_is_refused(client: httpx.AsyncClient) -> None:
    without_card = await client.put("/v3/recharge/purchase/1")
    await client.put("/v3/recharge/credit-card", json=card())
    no_package = await client.put("/v3/recharge/purchase/99")
    no_transaction = await client.get("/v3/recharge/transactions/nope")

    assert without_card.status_code == 400
    assert without_card.json()["response_code"] == "NO_CREDIT_CARD"
    assert no_package.status_code == 404
    assert no_transaction.status_code == 404


async def test_an_invoice_is_a_real_pdf_naming_the_amount(client: httpx.AsyncClient) -> None:
    await client.put("/v3/recharge/credit-card", json=card(number="5555555555554444"))
    bought = (await client.put("/v3/recharge/purchase/3")).json()["data"]
    invoice = await client.get(f"/v3/recharge/transactions/{bought['invoice_number']}/invoice.pdf")

    assert invoice.status_code == 200
    assert invoice.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(invoice.content)).pages[0].extract_text()
    assert "Total: 100.00 USD" in text
    assert bought["invoice_number"] in text
    assert "Mastercard ending in 4444" in text


async def test_a_subaccount_without_access_billing_cannot_touch_billing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    made = await client.post(
        "/v3/subaccounts",
        json={
            "api_username": "clerk",
            "password": "s3cret-password",
            "email": "clerk@example.com",
            "phone_number": "+61411111111",
            "first_name": "Sub",
            "last_name": "Account",
            "access_billing": 0,
        },
    )
    assert made.status_code == 200, made.text
    key = made.json()["data"]["api_key"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", auth=("clerk", key)
    ) as clerk:
        answers = [
            await clerk.get("/v3/recharge/packages"),
            await clerk.get("/v3/recharge/credit-card"),
            await clerk.put("/v3/recharge/credit-card", json=card()),
            await clerk.put("/v3/recharge/purchase/1"),
            await clerk.get("/v3/recharge/transactions"),
        ]
    assert [a.status_code for a in answers] == [403] * 5


async def test_packages_list_what_each_buys_at_the_countrys_price(
    client: httpx.AsyncClient,
) -> None:
    us = (await client.get("/v3/recharge/packages")).json()["data"]
    au = (await client.get("/v3/recharge/packages", params={"country": "AU"})).json()["data"]
    bad = await client.get("/v3/recharge/packages", params={"country": "XX"})

    assert us["currency"]["currency_name_short"] == "USD"
    first = us["packages"][0]
    assert (first["package_id"], first["package_price"]) == (1, "20.00")
    assert first["sms_price"] == 0.029 and first["sms_quantity"] == 689  # ⌊20 / 0.029⌋
    assert au["packages"][0]["sms_price"] == 0.053 and au["packages"][0]["sms_quantity"] == 377
    assert bad.status_code == 400


async def test_country_pricing_comes_from_the_price_book(client: httpx.AsyncClient) -> None:
    usd = await client.get("/v3/pricing/AU")
    aud = await client.get("/v3/pricing/AU", params={"currency": "AUD"})
    bad = await client.get("/v3/pricing/AU", params={"currency": "XYZ"})

    assert usd.json()["data"]["sms"]["price_rate_0"] == "0.0530"
    assert usd.json()["data"]["_currency"]["currency_name_short"] == "USD"
    assert aud.json()["data"]["_currency"]["currency_name_short"] == "AUD"
    assert aud.json()["data"]["country"] == "AU"
    assert bad.status_code == 400


def test_sdk_6_saves_a_card_buys_and_lists(live_server: Any, settings: Settings) -> None:
    config = clicksend.Configuration(
        host=live_server.url, username=settings.owner_username, password=settings.owner_api_key
    )
    api = clicksend.TransactionsApi(clicksend.ApiClient(config))
    saved = api.update_payment_info(
        update_payment_info_request=clicksend.UpdatePaymentInfoRequest(
            number="4242424242424242",
            expiry_month=11,
            expiry_year=2098,
            cvc=321,
            name="Roland Robot",
            bank_name="Robotic Banking",
        )
    )
    info = api.current_payment_info()
    packages = api.view_recharge_packages()
    bought = api.purchase_recharge_package("1")
    listed = api.view_all_transactions()
    assert listed.data is not None and listed.data.data
    invoice = listed.data.data[0].invoice_number
    assert invoice is not None
    one = api.view_specific_transaction(invoice)

    assert saved.data is not None and saved.data.token
    assert info.data is not None and info.data.display_number == "XXXX-XXXX-XXXX-4242"
    assert packages.data is not None and packages.data.packages
    assert bought.data is not None and bought.data.amount == 20
    assert one.data is not None and one.data.amount == 20
