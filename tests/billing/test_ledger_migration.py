"""Migration 0020 opens the ledger of every account that already has a balance."""

from __future__ import annotations

from alembic import command
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.billing import ledger
from dovecote.storage.db import create_engine
from dovecote.storage.migrate import alembic_config, upgrade
from dovecote.storage.tables import accounts


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), revision))


async def test_balances_from_before_the_ledger_become_opening_entries(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await _downgrade(engine, "0019")
        async with engine.begin() as conn:
            made = await conn.execute(
                accounts.insert().returning(accounts.c.id, sort_by_parameter_order=True),
                [
                    {"balance_micros": balance, "currency": "AUD", "created_at": 0}
                    for balance in (7_250_000, 0)
                ],
            )
            rich, poor = made.scalars().all()
        await upgrade(engine)
        async with engine.connect() as conn:
            opened = await ledger.entries(conn, rich)
            none = await ledger.entries(conn, poor)
            wrong = await ledger.discrepancies(conn)
    finally:
        await engine.dispose()

    assert [(e.kind, e.amount_micros, e.currency) for e in opened] == [
        ("opening", 7_250_000, "AUD")
    ]
    assert none == []
    assert wrong == {}
