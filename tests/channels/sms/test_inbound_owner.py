"""An inbound SMS from the network reaches the account that owns its destination number."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.accounts import service as accounts
from dovecote.channels.sms import inbound
from dovecote.numbers import inventory
from dovecote.pipeline.events import EventLog
from dovecote.storage.db import create_engine
from dovecote.storage.tables import messages

INVENTORY = "number,country,type,capabilities,monthly_price\n+12025550101,US,longcode,sms,2.50\n"


async def rows(engine: AsyncEngine) -> list[tuple[int, int, str, str]]:
    query = sa.select(
        messages.c.account_id, messages.c.user_id, messages.c.recipient, messages.c.body
    ).where(messages.c.direction == "in")
    async with engine.connect() as conn:
        return [(int(a), int(u), str(r), str(b)) for a, u, r, b in await conn.execute(query)]


async def test_a_reply_to_a_bought_number_is_recorded_for_its_buyer_and_others_are_not(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await inventory.import_csv(conn, INVENTORY)
            buyer = await accounts.create_account(conn, username="buyer", balance_micros=10**7)
            principal = await accounts.authenticate_bearer(conn, buyer.api_key)
            await inventory.buy(conn, principal, "+12025550101")
        async with engine.begin() as conn:
            owned = await inbound.receive(
                conn, EventLog(()), sender="+61411111111", recipient="+1 (202) 555-0101", body="Hi"
            )
            nobody = await inbound.receive(
                conn, EventLog(()), sender="+61411111111", recipient="+12025550188", body="Lost"
            )
            alpha = await inbound.receive(
                conn, EventLog(()), sender="+61411111111", recipient="Brand", body="x"
            )

        assert owned is not None
        assert (nobody, alpha) == (None, None)
        assert await rows(engine) == [(buyer.account.id, buyer.user.id, "+12025550101", "Hi")]
    finally:
        await engine.dispose()
