"""On SQLite, the queries that rely on a partial index (`WHERE … IS NOT NULL`, tables.py)
are planned through it. SQLite takes a partial index only for a query it can prove implies
the predicate (`due_at <= ?`, `group_id IN (…)`, `transport_ref = ?`); a rewrite it cannot
prove (`coalesce(due_at, 0) <= ?`, `due_at + 0 <= ?`), or a lost index, scans the table
and fails here. The statements are the ones the real functions execute, recorded."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.channels.email import store as email_store
from dovecote.pipeline import leases, queue, webhook_queue
from dovecote.pipeline.metrics import Metrics
from dovecote.pipeline.transports.smpp import receipts as smpp_receipts
from dovecote.storage.db import create_engine
from dovecote.storage.tables import (
    activity_exports,
    automation_actions,
    contact_imports,
    email_campaigns,
    sms_campaigns,
    webhook_deliveries,
)

NOW = 1_800_000_000.0


@pytest.fixture
async def conn(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[AsyncConnection]:
    target = tmp_path / "plans.db"
    shutil.copyfile(sqlite_template, target)
    engine = create_engine(f"sqlite+aiosqlite:///{target}")
    try:
        async with engine.begin() as connection:
            yield connection
    finally:
        await engine.dispose()


@contextmanager
def _recorded(conn: AsyncConnection) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def record(*args: Any) -> None:  # (conn, cursor, statement, parameters, context, many)
        statements.append((args[2], args[3]))

    sa.event.listen(conn.sync_connection, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(conn.sync_connection, "before_cursor_execute", record)


async def _plans(conn: AsyncConnection, work: Callable[[], Awaitable[object]]) -> list[str]:
    """The plan of each statement `work` executes, its steps joined by " | "."""
    with _recorded(conn) as statements:
        await work()
    plans = []
    for statement, parameters in statements:
        rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        # (id, parent, notused, detail): the step's text is the last column.
        plans.append(" | ".join(str(row[-1]) for row in rows))
    return plans


async def test_the_dispatchers_claim_walks_the_partial_due_index(conn: AsyncConnection) -> None:
    async def claim() -> object:
        return await queue.claim(conn, owner="w", now=NOW, lease=30, limit=100)

    [plan] = await _plans(conn, claim)

    assert "SEARCH messages USING INDEX ix_messages_due (due_at<?)" in plan
    assert "SCAN messages" not in plan


@pytest.mark.parametrize(
    "table",
    [
        activity_exports,
        automation_actions,
        contact_imports,
        email_campaigns,
        sms_campaigns,
        webhook_deliveries,
    ],
    ids=lambda table: str(table.name),
)
async def test_every_queue_claims_and_polls_through_its_partial_due_index(
    conn: AsyncConnection, table: sa.Table
) -> None:
    async def claim_and_poll() -> object:
        ids = [table.c.id]
        await leases.claim(conn, table, owner="w", now=NOW, lease=30, limit=10, returning=ids)
        return await leases.any_due(conn, table, now=NOW)

    plans = await _plans(conn, claim_and_poll)

    assert len(plans) == 2
    for plan in plans:
        assert f"INDEX ix_{table.name}_due (due_at<?)" in plan  # covering or not
        assert f"SCAN {table.name}" not in plan


async def test_the_webhook_queues_claim_keeps_its_due_index(conn: AsyncConnection) -> None:
    async def claim() -> object:
        return await webhook_queue.claim(conn, owner="w", now=NOW, lease=30, limit=10)

    plans = await _plans(conn, claim)

    assert "ix_webhook_deliveries_due (due_at<?)" in plans[0]


async def test_an_emails_recipients_are_found_through_the_partial_group_index(
    conn: AsyncConnection,
) -> None:
    async def totals() -> object:
        return await email_store.group_totals(conn, ["A", "B"])

    [plan] = await _plans(conn, totals)

    assert "SEARCH messages USING INDEX ix_messages_group (group_id=?)" in plan
    assert "SCAN messages" not in plan


async def test_an_smpp_receipt_finds_its_message_through_the_partial_reference_index(
    conn: AsyncConnection,
) -> None:
    async def lookup() -> object:
        return await smpp_receipts.message_for(conn, "smsc-1")

    [plan] = await _plans(conn, lookup)

    assert plan == "SEARCH messages USING INDEX ix_messages_transport_ref (transport_ref=?)"


async def test_the_queue_gauges_read_only_the_due_rows(conn: AsyncConnection) -> None:
    """`due_at IS NOT NULL` scanned every message while the index was full."""

    async def read() -> None:
        await Metrics().read_queue(conn, now=NOW)

    plans = await _plans(conn, read)

    assert len(plans) == 2
    for plan in plans:
        assert "USING INDEX ix_messages_due" in plan
        assert "SCAN messages" not in plan
