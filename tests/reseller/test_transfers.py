"""`reseller.transfers.transfer`: both balances or neither, never an overdraft, also
under concurrency (on PostgreSQL, many connections race for the same reseller row)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.pipeline import queue
from dovecote.reseller.transfers import InsufficientCredit, transfer
from reseller_support import create_client, login, new_reseller


async def _balances(engine: AsyncEngine, *account_ids: int) -> list[int]:
    async with engine.connect() as conn:
        return [await queue.balance(conn, account_id) for account_id in account_ids]


async def test_a_transfer_moves_credit_or_nothing(app: FastAPI) -> None:
    engine = app.state.runtime.engine
    reseller = await new_reseller(app, "acme", balance="10")
    async with login(app, reseller) as http:
        bob = await create_client(http, "bob")

    async with engine.begin() as conn:
        await transfer(
            conn, from_account_id=reseller.account_id, to_account_id=bob.account_id, amount_micros=4
        )
    with pytest.raises(InsufficientCredit):
        async with engine.begin() as conn:
            await transfer(
                conn,
                from_account_id=reseller.account_id,
                to_account_id=bob.account_id,
                amount_micros=10_000_000,
            )
    assert await _balances(engine, reseller.account_id, bob.account_id) == [9_999_996, 4]


async def test_concurrent_transfers_never_overdraw_the_reseller(app: FastAPI) -> None:
    """40 transfers of 1.00 race for a balance of 25.00: exactly 25 succeed, each with a
    400 or a 200 for the caller, and the two balances always add up to the start."""
    engine = app.state.runtime.engine
    reseller = await new_reseller(app, "acme", balance="25")
    async with login(app, reseller) as http:
        clients = [await create_client(http, name) for name in ("bob", "carol")]

    async def one(i: int, http: httpx.AsyncClient) -> int:
        response = await http.put(
            "/v3/reseller/transfer-credit",
            json={"client_user_id": clients[i % 2].user_id, "balance": 1, "currency": "USD"},
        )
        return response.status_code

    async with login(app, reseller) as http:
        statuses = await asyncio.gather(*(one(i, http) for i in range(40)))

    reseller_micros, bob_micros, carol_micros = await _balances(
        engine, reseller.account_id, clients[0].account_id, clients[1].account_id
    )
    assert sorted(set(statuses)) == [200, 400]
    assert statuses.count(200) == 25
    assert reseller_micros == 0
    assert bob_micros + carol_micros == 25_000_000
