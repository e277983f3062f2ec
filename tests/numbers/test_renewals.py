"""Monthly renewal: charged once per period, released when the account cannot pay."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.numbers import inventory, renewals
from dovecote.pipeline import queue
from dovecote.storage.db import create_engine
from dovecote.storage.tables import numbers

INVENTORY = (
    "number,country,type,capabilities,monthly_price\n"
    "+12025550101,US,longcode,sms,2.50\n"
    "+12025550188,US,longcode,sms,2.50\n"
)
T0 = 1_700_000_000


async def state(engine: AsyncEngine) -> dict[str, tuple[int | None, int | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(numbers.c.number, numbers.c.account_id, numbers.c.paid_until)
        )
        return {number: (account, paid) for number, account, paid in rows}


async def test_a_due_number_is_charged_once_and_an_unpaid_one_released(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await inventory.import_csv(conn, INVENTORY)
            rich = await accounts.create_account(conn, username="rich", balance_micros=10_000_000)
            poor = await accounts.create_account(conn, username="poor", balance_micros=3_000_000)
            for created, number in ((rich, "+12025550101"), (poor, "+12025550188")):
                principal = await accounts.authenticate_bearer(conn, created.api_key)
                await inventory.buy(conn, principal, number, now=T0)
        month = inventory.MONTH

        early = await renewals.renew_due(engine, now=T0 + month - 1)
        # Two workers at once: each period is charged once.
        both = await asyncio.gather(
            renewals.renew_due(engine, now=T0 + month), renewals.renew_due(engine, now=T0 + month)
        )

        assert early == (0, 0)
        assert (sum(r for r, _ in both), sum(x for _, x in both)) == (1, 1)
        async with engine.connect() as conn:
            assert await queue.balance(conn, rich.account.id) == 10_000_000 - 2 * 2_500_000
            assert await queue.balance(conn, poor.account.id) == 500_000
        assert await state(engine) == {
            "+12025550101": (rich.account.id, T0 + 2 * month),
            "+12025550188": (None, None),
        }
        async with engine.connect() as conn:
            assert await inventory.owner_of(conn, "+12025550188") is None
    finally:
        await engine.dispose()
