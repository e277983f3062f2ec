"""The ledger: every balance change is an entry, and balance = Σ entries for every account,
even after a storm of concurrent sends, cancellations, purchases and transfers."""

from __future__ import annotations

import asyncio
import random
import time

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import service
from dovecote.billing import ledger
from dovecote.pipeline import queue
from dovecote.settings import Settings
from dovecote.storage.db import create_engine
from dovecote.storage.tables import accounts, ledger_entries

PRICE_PROBE = "+12025550100"
CARD = {
    "number": "4242424242424242",
    "expiry_month": 1,
    "expiry_year": 2099,
    "cvc": "123",
    "name": "Storm",
}


@pytest.fixture
async def engine(settings: Settings) -> AsyncEngine:
    return create_engine(settings.database_url)


async def _account(engine: AsyncEngine, username: str, balance: str) -> service.NewUser:
    async with engine.begin() as conn:
        return await service.create_account(
            conn, username=username, balance_micros=service.parse_money(balance)
        )


async def _balance(engine: AsyncEngine, account_id: int) -> int:
    async with engine.connect() as conn:
        return await queue.balance(conn, account_id)


async def test_a_new_account_opens_its_ledger_with_its_starting_balance(
    app: FastAPI, engine: AsyncEngine
) -> None:
    made = await _account(engine, "opening", "12.50")
    empty = await _account(engine, "empty", "0")
    async with engine.connect() as conn:
        opened = await ledger.entries(conn, made.account.id)
        none = await ledger.entries(conn, empty.account.id)
        wrong = await ledger.discrepancies(conn)
    await engine.dispose()

    assert [(e.kind, e.amount_micros, e.balance_after_micros) for e in opened] == [
        ("opening", 12_500_000, 12_500_000)
    ]
    assert none == []
    assert wrong == {}


async def test_a_debit_the_balance_cannot_cover_writes_nothing(
    app: FastAPI, engine: AsyncEngine
) -> None:
    made = await _account(engine, "short", "1.00")
    async with engine.begin() as conn:
        took = await queue.debit(conn, made.account.id, 1_000_001, kind=ledger.ADJUSTMENT)
    async with engine.connect() as conn:
        kinds = [e.kind for e in await ledger.entries(conn, made.account.id)]
    balance = await _balance(engine, made.account.id)
    await engine.dispose()

    assert took is False
    assert kinds == ["opening"]
    assert balance == 1_000_000


async def test_debits_and_credits_record_kind_reference_and_running_balance(
    app: FastAPI, engine: AsyncEngine
) -> None:
    made = await _account(engine, "kinds", "5.00")
    async with engine.begin() as conn:
        assert await queue.debit(
            conn, made.account.id, 2_000_000, kind=ledger.NUMBER_RENTAL, reference="+61400000000"
        )
        await queue.credit(conn, made.account.id, 500_000, kind=ledger.ADJUSTMENT, reference="x")
    async with engine.connect() as conn:
        rows = await ledger.entries(conn, made.account.id)
    await engine.dispose()

    assert [(e.kind, e.amount_micros, e.balance_after_micros, e.reference) for e in rows] == [
        ("adjustment", 500_000, 3_500_000, "x"),
        ("number_rental", -2_000_000, 3_000_000, "+61400000000"),
        ("opening", 5_000_000, 5_000_000, "opening balance"),
    ]
    assert {e.currency for e in rows} == {"USD"}


async def test_unknown_kinds_and_negative_amounts_are_refused(
    app: FastAPI, engine: AsyncEngine
) -> None:
    made = await _account(engine, "refused", "5.00")
    async with engine.begin() as conn:
        with pytest.raises(ValueError, match="kind"):
            await queue.debit(conn, made.account.id, 1, kind="gift")
        with pytest.raises(ValueError, match="negative"):
            await queue.credit(conn, made.account.id, -1)
    await engine.dispose()


async def test_a_send_and_its_cancellation_are_a_debit_and_a_refund(
    app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine, settings: Settings
) -> None:
    later = int(time.time()) + 3600
    sent = await client.post(
        "/v3/sms/send",
        json={"messages": [{"to": PRICE_PROBE, "body": "Later", "schedule": later}]},
    )
    assert sent.status_code == 200, sent.text
    message = sent.json()["data"]["messages"][0]
    cancelled = await client.put(f"/v3/sms/{message['message_id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    async with engine.connect() as conn:
        owner = (
            await conn.execute(sa.select(accounts.c.id).order_by(accounts.c.id).limit(1))
        ).scalar_one()
        rows = await ledger.entries(conn, owner, limit=2)
        wrong = await ledger.discrepancies(conn)
    await engine.dispose()

    price = round(float(message["message_price"]) * 1_000_000)
    assert price > 0
    assert [(e.kind, e.amount_micros, e.reference) for e in rows] == [
        ("refund", price, "sms: 1 cancelled"),
        ("send", -price, "sms: 1 message"),
    ]
    assert wrong == {}


# --- the storm ---------------------------------------------------------------------------

OPERATIONS = 1000
CONCURRENCY = 24


async def test_balance_equals_the_ledger_after_a_concurrent_storm(
    app: FastAPI, engine: AsyncEngine, settings: Settings
) -> None:
    """1,000 mixed operations at once: API sends (some the balance cannot cover), API
    cancellations (refunds), API package purchases and transfers between accounts (a debit and a credit
    in one transaction). Afterwards every balance equals its ledger and none is negative,
    and the money in the system moved only by what was bought and what sends cost."""
    people = [await _account(engine, f"storm{n}", "3.00") for n in range(4)]
    ids = [p.account.id for p in people]
    rng = random.Random(15)
    transport = httpx.ASGITransport(app=app)
    clients = [
        httpx.AsyncClient(
            transport=transport, base_url="http://testserver", auth=(p.user.username, p.api_key)
        )
        for p in people
    ]
    scheduled: list[list[str]] = [[] for _ in people]
    purchased = 0
    gate = asyncio.Semaphore(CONCURRENCY)
    later = int(time.time()) + 3600

    async def send(n: int, who: int) -> None:
        body = {"to": f"+1202556{n:04d}", "body": f"storm {n}"}
        if rng.random() < 0.6:
            body["schedule"] = later  # type: ignore[assignment]
        answer = await clients[who].post("/v3/sms/send", json={"messages": [body]})
        assert answer.status_code == 200, answer.text
        message = answer.json()["data"]["messages"][0]
        if message["status"] == "SUCCESS" and "schedule" in body:
            scheduled[who].append(message["message_id"])

    async def cancel(who: int) -> None:
        if scheduled[who]:
            message_id = scheduled[who].pop(rng.randrange(len(scheduled[who])))
            answer = await clients[who].put(f"/v3/sms/{message_id}/cancel")
            assert answer.status_code == 200, answer.text

    async def purchase(who: int) -> None:
        nonlocal purchased
        answer = await clients[who].put("/v3/recharge/purchase/1")  # 20.00 on the saved card
        assert answer.status_code == 200, answer.text
        purchased += 20_000_000

    async def transfer(who: int) -> None:
        to = rng.choice([i for i in ids if i != ids[who]])
        async with engine.begin() as conn:
            await ledger.transfer(conn, ids[who], to, 400_000, reference="storm")

    async def one(n: int) -> None:
        who = rng.randrange(len(people))
        pick = rng.random()
        async with gate:
            if pick < 0.5:
                await send(n, who)
            elif pick < 0.7:
                await cancel(who)
            elif pick < 0.8:
                await purchase(who)
            else:
                await transfer(who)

    for http in clients:
        saved = await http.put("/v3/recharge/credit-card", json=CARD)
        assert saved.status_code == 200, saved.text
    try:
        await asyncio.gather(*(one(n) for n in range(OPERATIONS)))
    finally:
        for http in clients:
            await http.aclose()

    async with engine.connect() as conn:
        wrong = await ledger.discrepancies(conn)
        balances = {
            int(i): int(b)
            for i, b in await conn.execute(sa.select(accounts.c.id, accounts.c.balance_micros))
        }
        kinds = set(
            (
                await conn.execute(
                    sa.select(ledger_entries.c.kind).where(ledger_entries.c.account_id.in_(ids))
                )
            ).scalars()
        )
        spent = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(ledger_entries.c.amount_micros), 0)).where(
                    ledger_entries.c.account_id.in_(ids),
                    ledger_entries.c.kind.in_([ledger.SEND, ledger.REFUND]),
                )
            )
        ).scalar_one()
    await engine.dispose()

    assert wrong == {}
    assert all(balance >= 0 for balance in balances.values())
    assert kinds == {"opening", "send", "refund", "purchase", "transfer_in", "transfer_out"}
    # Transfers cancel out; what is left moved by purchases and by sends net of refunds.
    total = sum(balances[i] for i in ids)
    assert total == 4 * 3_000_000 + purchased + int(spent)
    assert int(spent) < 0


async def test_a_transfer_the_payer_cannot_cover_moves_nothing(
    app: FastAPI, engine: AsyncEngine
) -> None:
    payer = await _account(engine, "payer", "1.00")
    payee = await _account(engine, "payee", "0")
    async with engine.begin() as conn:
        moved = await ledger.transfer(conn, payer.account.id, payee.account.id, 1_000_001)
    async with engine.begin() as conn:
        moved_all = await ledger.transfer(
            conn, payer.account.id, payee.account.id, 1_000_000, reference="all of it"
        )
    async with engine.connect() as conn:
        payee_rows = await ledger.entries(conn, payee.account.id)
        wrong = await ledger.discrepancies(conn)
    balances = [await _balance(engine, a.account.id) for a in (payer, payee)]
    await engine.dispose()

    assert (moved, moved_all) == (False, True)
    assert balances == [0, 1_000_000]
    assert [(e.kind, e.amount_micros, e.reference) for e in payee_rows] == [
        ("transfer_in", 1_000_000, "all of it")
    ]
    assert wrong == {}
