"""The statistics sink: each message counted once, moved between statuses by its events."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.pipeline.events import Event
from dovecote.statistics.sink import statistics_sink
from dovecote.statistics.store import DAY
from dovecote.storage.db import create_engine
from dovecote.storage.tables import SYSTEM_SOURCE, messages, statistics_daily, statistics_inflight
from sms_support import T0, sms

ACCOUNT, USER = 7, 70


def event(message_id: str, kind: str, **data: Any) -> Event:
    return Event(message_id, ACCOUNT, USER, "sms", kind, float(T0 + 5), data)


async def buckets(conn: AsyncConnection) -> dict[str, tuple[int, int]]:
    rows = (await conn.execute(sa.select(statistics_daily))).mappings()
    return {
        row["status"]: (row["count"], row["price_micros"])
        for row in rows
        if row["count"] or row["price_micros"]
    }


async def test_a_message_moves_from_queued_to_delivered_and_a_replayed_receipt_changes_nothing(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    row = sms(ACCOUNT, USER, status="queued", price_micros=50_000)
    async with engine.begin() as conn:
        await conn.execute(messages.insert(), [row])
        await statistics_sink(conn, [event(row["id"], "queued")])
        assert await buckets(conn) == {"queued": (1, 50_000)}
        await statistics_sink(conn, [event(row["id"], "sent"), event(row["id"], "deferred")])
        assert await buckets(conn) == {"sent": (1, 50_000)}
        await statistics_sink(conn, [event(row["id"], "receipt", status_code=201)])
        await statistics_sink(conn, [event(row["id"], "receipt", status_code=300)])  # replayed
        assert await buckets(conn) == {"delivered": (1, 50_000)}
        day = (await conn.execute(sa.select(statistics_daily.c.day).distinct())).scalars().all()
        # Final: nothing left in flight.
        left = (await conn.execute(sa.select(statistics_inflight))).all()
    await engine.dispose()
    assert day == [T0 // DAY * DAY]
    assert left == []


async def test_one_batch_with_every_step_counts_the_final_status_only(database_url: str) -> None:
    engine = create_engine(database_url)
    rows = [sms(ACCOUNT, USER, status="queued", price_micros=10) for _ in range(3)]
    async with engine.begin() as conn:
        await conn.execute(messages.insert(), rows)
        await statistics_sink(
            conn,
            [
                *(event(r["id"], "queued") for r in rows),
                event(rows[0]["id"], "receipt", status_code=302),
                event(rows[1]["id"], "receipt", status_code=301),
                event(rows[2]["id"], "cancelled"),
            ],
        )
        counted = await buckets(conn)
    await engine.dispose()
    # The cancelled one was refunded: counted without a price.
    assert counted == {"failed": (1, 10), "expired": (1, 10), "cancelled": (1, 0)}


async def test_system_mail_test_numbers_and_unknown_messages_are_not_counted(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    system = sms(ACCOUNT, USER, status="queued", source=SYSTEM_SOURCE, is_test=False)
    test = sms(ACCOUNT, USER, status="test", source=None, is_test=True)
    async with engine.begin() as conn:
        await conn.execute(messages.insert(), [system, test])
        await statistics_sink(
            conn,
            [
                event(system["id"], "queued"),
                event(test["id"], "queued"),
                event("NOT-A-MESSAGE", "receipt", status_code=201),
            ],
        )
        counted = await buckets(conn)
    await engine.dispose()
    assert counted == {}


async def test_a_queued_event_carrying_its_price_is_counted_without_reading_the_message(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        # No message rows at all: the events carry what is counted.
        await statistics_sink(
            conn,
            [
                event("CARRIED", "queued", price_micros=30, source=None),
                event("PLATFORM", "queued", price_micros=30, source=SYSTEM_SOURCE),
            ],
        )
        counted = await buckets(conn)
    await engine.dispose()
    assert counted == {"queued": (1, 30)}


def inflight_writes(conn: AsyncConnection) -> list[str]:
    """The first word of each write to `statistics_inflight` from now on."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        verb = statement.split()[0].upper()
        if "statistics_inflight" in statement and verb != "SELECT":
            seen.append(verb)

    sa.event.listen(conn.sync_engine, "before_cursor_execute", note)
    return seen


async def test_a_send_writes_its_in_flight_rows_in_one_upsert_and_moves_replace_them(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        statements = inflight_writes(conn)
        await statistics_sink(conn, [event("SENT-ONCE", "queued", price_micros=30, source=None)])
        accepted = list(statements)
        statements.clear()
        await statistics_sink(conn, [event("SENT-ONCE", "sent")])
        moved = list(statements)
        status = (await conn.execute(sa.select(statistics_inflight.c.status))).scalars().all()
        statements.clear()
        await statistics_sink(conn, [event("SENT-ONCE", "delivered")])
        finished = list(statements)
        left = (await conn.execute(sa.select(statistics_inflight.c.status))).scalars().all()
    await engine.dispose()
    assert accepted == ["INSERT"]  # INSERT … ON CONFLICT DO UPDATE: no DELETE first
    # A move: SQLite upserts what is still in flight (cheaper there at every size);
    # PostgreSQL deletes and inserts arrays (cheaper there than its upsert).
    assert moved == (["INSERT"] if database_url.startswith("sqlite") else ["DELETE", "INSERT"])
    assert status == ["sent"]
    assert finished == ["DELETE"]  # final: its row goes, nothing is written back
    assert left == []


async def test_a_replayed_accepting_event_overwrites_its_in_flight_row(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    queued = event("REPLAYED", "queued", price_micros=30, source=None)
    async with engine.begin() as conn:
        await statistics_sink(conn, [queued])
        await statistics_sink(conn, [event("REPLAYED", "sent")])
        await statistics_sink(conn, [queued])  # again: its row is there, in `sent`
        rows = (await conn.execute(sa.select(statistics_inflight.c.status))).scalars().all()
    await engine.dispose()
    assert rows == ["queued"]
