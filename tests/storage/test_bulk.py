"""Batch statements: what one array statement writes is what the per-row ones wrote."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from dovecote.pipeline.events import Event
from dovecote.storage import bulk
from dovecote.storage.db import create_engine
from dovecote.storage.tables import events, messages, statistics_daily
from sms_support import sms


async def test_rows_inserted_in_one_statement_keep_their_json_and_nulls(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    rows = [
        {
            "message_id": f"M{i}",
            "account_id": 1,
            "user_id": 2,
            "channel": "sms",
            "type": "sent",
            "occurred_at": 1000.5 + i,
            "data": {"attempt_num": i, "reason": None, "text": 'é "quoted" ✓'},
            "read_at": None if i else 7,
        }
        for i in range(3)
    ]
    async with engine.begin() as conn:
        await bulk.insert_columns(
            conn, events, {name: [row[name] for row in rows] for name in rows[0]}
        )
        stored = (await conn.execute(sa.select(events).order_by(events.c.id))).mappings().all()
    await engine.dispose()
    assert [{k: v for k, v in row.items() if k != "id"} for row in stored] == rows


async def test_rows_updated_in_one_statement_skip_the_rows_that_do_not_match(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    mine = sms(1, 2, status="queued", lease_owner="me", attempts=0)
    theirs = sms(1, 2, status="queued", lease_owner="other", attempts=0)
    async with engine.begin() as conn:
        await conn.execute(messages.insert(), [mine, theirs])
        updates = [
            {"_id": row["id"], "_owner": "me", "status": "sent", "attempts": 1, "due_at": None}
            for row in (mine, theirs)
        ]
        await bulk.update_rows(conn, messages, updates, {"_id": "id", "_owner": "lease_owner"})
        query = sa.select(messages.c.id, messages.c.status, messages.c.attempts)
        found = {row.id: (row.status, row.attempts) for row in await conn.execute(query)}
    await engine.dispose()
    assert found == {mine["id"]: ("sent", 1), theirs["id"]: ("queued", 0)}


async def test_any_of_selects_the_given_keys_whatever_their_number(database_url: str) -> None:
    engine = create_engine(database_url)
    rows = [sms(1, 2) for _ in range(5)]
    async with engine.begin() as conn:
        await conn.execute(messages.insert(), rows)
        wanted = {rows[0]["id"], rows[3]["id"], "missing"}
        where = bulk.any_of(messages.c.id, wanted, conn.dialect.name)
        found = set((await conn.execute(sa.select(messages.c.id).where(where))).scalars())
    await engine.dispose()
    assert found == {rows[0]["id"], rows[3]["id"]}


async def test_columns_of_one_value_for_every_row_are_written_to_every_row(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    columns: dict[str, list[Any]] = {
        "message_id": ["A", "B", "C"],
        "account_id": [1, 1, 1],
        "user_id": [2, 2, 2],
        "channel": ["sms"] * 3,
        "type": ["sent"] * 3,
        "occurred_at": [5.0, 5.0, 6.5],
        "data": [{"attempt_num": 1}] * 3,
        "read_at": [None] * 3,
    }
    async with engine.begin() as conn:
        await bulk.insert_columns(conn, events, columns)
        query = sa.select(*(events.c[name] for name in columns)).order_by(events.c.id)
        stored = [tuple(row) for row in await conn.execute(query)]
    await engine.dispose()
    assert stored == list(zip(*columns.values(), strict=True))


async def test_a_value_too_long_for_its_column_is_refused_not_cut(database_url: str) -> None:
    engine = create_engine(database_url)
    columns: dict[str, list[Any]] = {
        "message_id": ["A", "B"],
        "account_id": [1, 1],
        "user_id": [2, 2],
        "channel": ["sms", "x" * 17],  # channel is VARCHAR(16)
        "type": ["sent", "sent"],
        "occurred_at": [5.0, 5.0],
        "data": [{}, {}],
    }
    refused = False
    try:
        async with engine.begin() as conn:
            await bulk.insert_columns(conn, events, columns)
    except sa.exc.DBAPIError:
        refused = True
    await engine.dispose()
    # SQLite does not enforce VARCHAR lengths; PostgreSQL must refuse, as a plain INSERT.
    assert refused == database_url.startswith("postgresql")


def test_columns_of_reads_each_named_attribute_of_every_item_in_order() -> None:
    items = [Event(f"M{i}", i, 2, "sms", "sent", 1.5 * i, {"n": i}) for i in range(3)]

    assert bulk.columns_of(items, ("message_id", "occurred_at", "data")) == {
        "message_id": ["M0", "M1", "M2"],
        "occurred_at": [0.0, 1.5, 3.0],
        "data": [{"n": 0}, {"n": 1}, {"n": 2}],
    }
    assert bulk.columns_of(items, ("account_id",)) == {"account_id": [0, 1, 2]}
    assert bulk.columns_of([], ("message_id", "type")) == {"message_id": [], "type": []}


async def test_rows_with_different_keys_are_inserted_in_their_order(database_url: str) -> None:
    # Runs of rows with the same keys go as one statement each; ids follow the rows' order.
    engine = create_engine(database_url)
    rows: list[dict[str, Any]] = [
        {
            "message_id": f"M{i}",
            "account_id": 1,
            "user_id": 2,
            "channel": "sms",
            "type": "sent",
            "occurred_at": float(i),
            "data": {"n": i, "nested": [None, "✓"]},
        }
        for i in range(6)
    ]
    for row in rows[2:4]:
        row["read_at"] = 9
    async with engine.begin() as conn:
        await bulk.insert_rows(conn, events, rows)
        stored = (await conn.execute(sa.select(events).order_by(events.c.id))).mappings().all()
    await engine.dispose()
    assert [row["message_id"] for row in stored] == [f"M{i}" for i in range(6)]
    assert [row["data"] for row in stored] == [row["data"] for row in rows]
    assert [row["read_at"] for row in stored] == [None, None, 9, 9, None, None]


async def test_execute_rows_runs_a_prebuilt_upsert_for_every_row(database_url: str) -> None:
    engine = create_engine(database_url)
    insert = (sqlite_insert if database_url.startswith("sqlite") else postgresql_insert)(events)
    statement = insert.on_conflict_do_update(
        index_elements=[events.c.id], set_={"data": insert.excluded.data}
    )
    first = [
        {
            "id": i,
            "message_id": "M",
            "account_id": 1,
            "user_id": 2,
            "channel": "sms",
            "type": "sent",
            "occurred_at": 1.0,
            "data": {"v": i},
            "read_at": None,
        }
        for i in (1, 2)
    ]
    again = [{**first[1], "data": {"v": "changed"}}]
    async with engine.begin() as conn:
        await bulk.execute_rows(conn, statement, first)
        await bulk.execute_rows(conn, statement, again)
        stored = (await conn.execute(sa.select(events.c.id, events.c.data))).all()
    await engine.dispose()
    assert sorted(stored) == [(1, {"v": 1}), (2, {"v": "changed"})]


def event_columns(data: list[Any]) -> dict[str, list[Any]]:
    """`events` rows, column by column, one per value of `data` (their JSON column)."""
    return {
        "message_id": [f"M{i}" for i in range(len(data))],
        "account_id": [1] * len(data),
        "user_id": [2] * len(data),
        "channel": ["sms"] * len(data),
        "type": ["queued"] * len(data),
        "occurred_at": [5.0] * len(data),
        "data": data,
    }


async def test_a_json_object_shared_by_rows_is_encoded_once_and_written_to_each(
    database_url: str,
) -> None:
    shared: dict[str, Any] = {"price_micros": 77000, "source": None}
    # Equal to `shared` as Python compares them (1 == True == 1.0), not as JSON writes them.
    data = [shared, {"price_micros": True}, shared, {"price_micros": 1.0}, shared, None]
    encoded: list[Any] = []

    def process(value: Any) -> str:
        encoded.append(value)
        return repr(value)

    assert bulk._encode_json(process, data) == [repr(value) for value in data]
    assert encoded == [shared, {"price_micros": True}, {"price_micros": 1.0}, None]

    engine = create_engine(database_url)
    columns = event_columns(data)
    async with engine.begin() as conn:
        await bulk.insert_columns(conn, events, columns)
        query = sa.select(events.c.data, sa.cast(events.c.data, sa.Text)).order_by(events.c.id)
        stored = (await conn.execute(query)).all()
    await engine.dispose()
    assert [value for value, _ in stored] == data
    assert [text.replace(" ", "") for _, text in stored][1:4:2] == [
        '{"price_micros":true}',
        '{"price_micros":1.0}',
    ]


async def test_json_objects_equal_in_python_but_not_as_json_are_not_written_as_one(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every row holds a dict equal to every other (1 == True == 1.0), so a column that
    # looks constant by Python's equality would be bound once and the first written to all.
    monkeypatch.setattr(bulk, "_SQLITE_VALUES_FROM", 2)
    data: list[Any] = [{"n": 1}, {"n": True}, {"n": 1.0}, {"n": 1}]
    engine = create_engine(database_url)
    columns = event_columns(data)
    async with engine.begin() as conn:
        await bulk.insert_columns(conn, events, columns)
        query = sa.select(sa.cast(events.c.data, sa.Text)).order_by(events.c.id)
        stored = (await conn.execute(query)).scalars().all()
    await engine.dispose()
    assert [text.replace(" ", "") for text in stored] == [
        '{"n":1}',
        '{"n":true}',
        '{"n":1.0}',
        '{"n":1}',
    ]


async def test_equal_values_of_different_types_are_not_written_as_one_on_sqlite(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite's own insert: a column of one value goes as one parameter; 1, 1.0 and True
    # are equal in Python but a TEXT column stores them as '1', '1.0' and '1'. The bound
    # on parameters (made small here) splits the rows over statements, in their order.
    database = tmp_path / "dovecote.db"
    shutil.copyfile(sqlite_template, database)
    database_url = f"sqlite+aiosqlite:///{database}"
    monkeypatch.setattr(bulk, "_SQLITE_VALUES_FROM", 2)
    monkeypatch.setattr(bulk, "_SQLITE_MAX_PARAMETERS", 10)
    values: list[Any] = [1, 1.0, True, 1, 1, 1, 1]
    columns: dict[str, list[Any]] = {
        "message_id": [f"M{i}" for i in range(len(values))],
        "account_id": [1] * len(values),
        "user_id": [2] * len(values),
        "channel": values,
        "type": ["queued"] * len(values),
        "occurred_at": [5.0] * len(values),
        "data": [{"n": value} for value in values],
    }
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await bulk.insert_columns(conn, events, columns)
        query = sa.select(events.c.message_id, events.c.channel, sa.cast(events.c.data, sa.Text))
        stored = (await conn.execute(query.order_by(events.c.id))).all()
    await engine.dispose()
    assert [message_id for message_id, _, _ in stored] == columns["message_id"]
    assert [channel for _, channel, _ in stored] == ["1", "1.0", "1", "1", "1", "1", "1"]
    assert [data for _, _, data in stored][:3] == ['{"n": 1}', '{"n": 1.0}', '{"n": true}']


@pytest.mark.parametrize("values_from", [2, 100])
async def test_execute_rows_upserts_rows_of_one_key_in_turn_as_executemany_did(
    database_url: str, values_from: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite runs enough rows as one INSERT … SELECT FROM (VALUES …) (fewer as an
    # executemany): each row still meets the ones before it in the same statement.
    monkeypatch.setattr(bulk, "_SQLITE_VALUES_FROM", values_from)
    engine = create_engine(database_url)
    insert = (sqlite_insert if database_url.startswith("sqlite") else postgresql_insert)(
        statistics_daily
    )
    key = [statistics_daily.c[name] for name in ("account_id", "channel", "day", "status")]
    statement = insert.on_conflict_do_update(
        index_elements=key,
        set_={"count": statistics_daily.c.count + insert.excluded["count"]},
    )
    rows = [
        {
            "account_id": 1,
            "channel": "sms",
            "day": 0,
            "status": status,
            "count": n,
            "price_micros": 0,
        }
        for status, n in (("queued", 1), ("sent", 5), ("queued", 2), ("queued", 4))
    ]
    async with engine.begin() as conn:
        await bulk.execute_rows(conn, statement, rows)
        query = sa.select(statistics_daily.c.status, statistics_daily.c["count"])
        stored = sorted((await conn.execute(query)).all())
    await engine.dispose()
    assert stored == [("queued", 7), ("sent", 5)]


async def test_execute_columns_writes_what_execute_rows_writes(database_url: str) -> None:
    engine = create_engine(database_url)
    insert = (sqlite_insert if database_url.startswith("sqlite") else postgresql_insert)(
        statistics_daily
    )
    key = [statistics_daily.c[name] for name in ("account_id", "channel", "day", "status")]
    statement = insert.on_conflict_do_update(
        index_elements=key, set_={"count": statistics_daily.c.count + insert.excluded["count"]}
    )
    columns: dict[str, list[Any]] = {
        "account_id": [1, 1, 2],
        "channel": ["sms", "sms", "sms"],
        "day": [0, 0, 0],
        "status": ["queued", "queued", "sent"],
        "count": [1, 2, 5],
        "price_micros": [10, 10, 50],
    }
    async with engine.begin() as conn:
        await bulk.execute_columns(conn, statement, columns)
        await bulk.execute_columns(conn, statement, {name: [] for name in columns})
        query = sa.select(statistics_daily.c.account_id, statistics_daily.c["count"])
        stored = sorted((await conn.execute(query)).all())
    await engine.dispose()
    assert stored == [(1, 3), (2, 5)]
