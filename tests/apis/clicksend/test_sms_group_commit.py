"""Single sends through the group commit keep every guarantee a send had alone.

The writer is held on a gate while requests queue behind it, so a batch is exactly the
requests a test chose (no timing luck): then each request's answer is checked against
what the database kept, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.billing import ledger
from dovecote.core.errors import InvalidInput
from dovecote.pipeline import queue as store
from dovecote.settings import Settings
from dovecote.storage.tables import accounts, events, ledger_entries, messages, users
from group_commit_support import held, send, status, us, writer
from smsc_support import until

US_PRICE = 29_000  # micros, one US part (the packaged price list)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sms_group_commit": True})


async def owner_account(app: FastAPI) -> int:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(users.c.account_id).where(users.c.username == "owner")
        return int((await conn.execute(query)).scalar_one())


async def balance(app: FastAPI, account_id: int) -> int:
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(accounts.c.balance_micros).where(accounts.c.id == account_id)
        return int((await conn.execute(query)).scalar_one())


async def set_balance(app: FastAPI, account_id: int, micros: int) -> None:
    async with app.state.runtime.engine.begin() as conn:
        await conn.execute(
            accounts.update().where(accounts.c.id == account_id).values(balance_micros=micros)
        )


async def stored_ids(app: FastAPI) -> set[str]:
    async with app.state.runtime.engine.connect() as conn:
        return set((await conn.execute(sa.select(messages.c.id))).scalars())


async def sends_in_one_batch(
    app: FastAPI,
    client: httpx.AsyncClient,
    count: int,
    extra: Callable[[AsyncConnection], Awaitable[Any]] | None = None,
    *,
    savepoint: bool = True,
) -> tuple[list[httpx.Response], BaseException | None]:
    """`count` sends (and `extra`, last, run with `savepoint` or not) committed together
    in one transaction; the answers, and the error `extra` raised if any."""
    group = writer(app)
    async with held(app):
        requests = [asyncio.create_task(send(client, n)) for n in range(count)]
        await until(lambda: group.pending == count, seconds=30)
        extra_task = (
            asyncio.create_task(group.run(extra, savepoint=savepoint))
            if extra is not None
            else None
        )
        await until(lambda: group.pending == count + (extra is not None), seconds=30)
        commits = group.commits
    responses = await asyncio.gather(*requests)
    extra_error = None
    if extra_task is not None:
        try:
            await extra_task
        except Exception as exc:
            extra_error = exc
    assert group.commits <= commits + 2  # the holder's commit and this batch's, no more
    return responses, extra_error


def debit_then_fail(account_id: int) -> Callable[[AsyncConnection], Awaitable[None]]:
    """A unit that debits the account, then finds bad input: it fails after writing."""

    async def unit(conn: AsyncConnection) -> None:
        assert await store.debit(conn, account_id, 1_000_000)
        raise InvalidInput("found bad input after writing")

    return unit


def message_id(response: httpx.Response) -> str:
    return str(response.json()["data"]["messages"][0]["message_id"])


async def test_sends_in_one_transaction_are_each_answered_and_each_committed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id = await owner_account(app)
    before = await balance(app, account_id)
    units = writer(app).units

    responses, _ = await sends_in_one_batch(app, client, 20)

    assert [r.status_code for r in responses] == [200] * 20
    assert [status(r) for r in responses] == ["SUCCESS"] * 20
    assert writer(app).units - units == 21  # the 20 sends and the holder
    # Every id answered is stored, once; the charge is the sum, once.
    ids = [message_id(r) for r in responses]
    assert len(set(ids)) == 20
    assert await stored_ids(app) >= set(ids)
    assert await balance(app, account_id) == before - 20 * US_PRICE


async def test_credit_for_k_of_n_concurrent_sends_lets_exactly_k_through(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id = await owner_account(app)
    await set_balance(app, account_id, 5 * US_PRICE + US_PRICE // 2)

    responses, _ = await sends_in_one_batch(app, client, 12)

    outcomes = [status(r) for r in responses]
    assert outcomes.count("SUCCESS") == 5
    assert outcomes.count("INSUFFICIENT_CREDIT") == 7
    assert await balance(app, account_id) == US_PRICE // 2
    kept = {message_id(r) for r in responses if status(r) == "SUCCESS"}
    assert await stored_ids(app) == kept


async def test_credit_for_k_of_n_sends_without_holding_the_writer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # However the requests happen to fall into batches, the charge stays exact.
    account_id = await owner_account(app)
    await set_balance(app, account_id, 7 * US_PRICE)

    responses = await asyncio.gather(*(send(client, n) for n in range(30)))

    assert [status(r) for r in responses].count("SUCCESS") == 7
    assert await balance(app, account_id) == 0
    assert len(await stored_ids(app)) == 7


async def test_a_guarded_unit_failing_after_its_debit_takes_its_debit_back(
    app: FastAPI,
) -> None:
    # In a batch the debits are summed in memory and written at the flush: the failed
    # unit's savepoint rollback must take its share out of that sum too.
    account_id = await owner_account(app)
    await set_balance(app, account_id, 3 * US_PRICE)

    async def spend(conn: AsyncConnection, reference: str) -> bool:
        return await ledger.debit(
            conn, account_id, 2 * US_PRICE, kind=ledger.SEND, reference=reference
        )

    async def spend_then_fail(conn: AsyncConnection) -> None:
        assert await spend(conn, "failed")
        raise InvalidInput("after the debit")

    group = writer(app)
    async with held(app):
        failing = asyncio.create_task(group.run(spend_then_fail, key=account_id))
        spending = asyncio.create_task(group.run(lambda c: spend(c, "kept"), key=account_id))
        await until(lambda: group.pending == 2, seconds=30)
    with pytest.raises(InvalidInput):
        await failing
    assert await spending is True  # 3 covers 2 once the failed 2 is taken back
    assert await balance(app, account_id) == US_PRICE
    async with app.state.runtime.engine.connect() as conn:
        entries = (
            await conn.execute(
                sa.select(
                    ledger_entries.c.reference,
                    ledger_entries.c.amount_micros,
                    ledger_entries.c.balance_after_micros,
                ).where(ledger_entries.c.account_id == account_id)
            )
        ).all()
    assert [tuple(e) for e in entries if e[0] in ("kept", "failed")] == [
        ("kept", -2 * US_PRICE, US_PRICE)
    ]


async def test_a_unit_that_fails_midway_is_rolled_back_alone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id = await owner_account(app)
    before = await balance(app, account_id)

    responses, error = await sends_in_one_batch(app, client, 5, debit_then_fail(account_id))

    assert isinstance(error, InvalidInput)  # its own error, not the batch's
    assert [status(r) for r in responses] == ["SUCCESS"] * 5
    assert await balance(app, account_id) == before - 5 * US_PRICE  # its debit undone


async def fail_at_commit(conn: AsyncConnection) -> None:
    """Writes that pass until COMMIT, where a deferred constraint refuses them."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(
            "CREATE TEMP TABLE poison (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP"
        )
        await conn.exec_driver_sql("INSERT INTO poison VALUES (1), (1)")
        return
    await conn.exec_driver_sql("CREATE TEMP TABLE poison_parent (id INTEGER PRIMARY KEY)")
    await conn.exec_driver_sql(
        "CREATE TEMP TABLE poison (p INTEGER REFERENCES poison_parent (id) "
        "DEFERRABLE INITIALLY DEFERRED)"
    )
    await conn.exec_driver_sql("INSERT INTO poison VALUES (1)")


async def test_a_failed_commit_answers_every_request_an_error_and_keeps_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id = await owner_account(app)
    before = await balance(app, account_id)
    ids_before = await stored_ids(app)

    responses, error = await sends_in_one_batch(app, client, 8, fail_at_commit)

    assert [r.status_code for r in responses] == [500] * 8
    assert {r.json()["response_code"] for r in responses} == {"INTERNAL_SERVER_ERROR"}
    assert "could not be saved" in responses[0].json()["response_msg"]
    assert error is not None
    assert await stored_ids(app) == ids_before
    assert await balance(app, account_id) == before
    # The writer goes on: the next send commits.
    after = await send(client, 99)
    assert status(after) == "SUCCESS"
    assert message_id(after) in await stored_ids(app)


@pytest.mark.parametrize("count", [1, 3])
async def test_a_unit_alone_or_not_gets_its_own_error(app: FastAPI, count: int) -> None:
    group = writer(app)

    async def fail(_conn: AsyncConnection) -> None:
        raise InvalidInput("nope")

    async def fine(_conn: AsyncConnection) -> str:
        return "ok"

    results = await asyncio.gather(
        group.run(fail), *(group.run(fine) for _ in range(count - 1)), return_exceptions=True
    )

    assert isinstance(results[0], InvalidInput)
    assert results[1:] == ["ok"] * (count - 1)


# --- rows written once per batch (storage/deferred.py) -------------------------------------


def count_inserts(app: FastAPI) -> dict[str, int]:
    """INSERT statements executed per table from now on (an executemany counts once), and
    the UPDATEs of account rows (balances)."""
    counts: dict[str, int] = {}

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            table = words[2].strip('"')
            counts[table] = counts.get(table, 0) + 1
        elif words[:2] == ["UPDATE", "accounts"]:
            counts["UPDATE accounts"] = counts.get("UPDATE accounts", 0) + 1

    sa.event.listen(app.state.runtime.engine.sync_engine, "before_cursor_execute", seen)
    return counts


async def test_a_batch_writes_its_messages_events_and_ledger_entries_once_each(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id = await owner_account(app)
    before = await balance(app, account_id)
    inserts = count_inserts(app)

    responses, _ = await sends_in_one_batch(app, client, 16)

    assert [status(r) for r in responses] == ["SUCCESS"] * 16
    assert inserts["messages"] == 1
    assert inserts["events"] == 1
    # The batch holds the account's row: its 16 debits are summed and written once.
    assert inserts["ledger_entries"] == 1
    assert inserts["UPDATE accounts"] == 1
    async with app.state.runtime.engine.connect() as conn:
        entries = (
            await conn.execute(
                sa.select(ledger_entries.c.amount_micros, ledger_entries.c.balance_after_micros)
                .where(ledger_entries.c.account_id == account_id)
                .order_by(ledger_entries.c.id.desc())
                .limit(16)
            )
        ).all()
        queued = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(events)
                .where(events.c.message_id.in_([message_id(r) for r in responses]))
            )
        ).scalar_one()
    # Each send its own entry, in the order of the debits, the balances following on.
    assert [amount for amount, _ in entries] == [-US_PRICE] * 16
    assert [after for _, after in reversed(entries)] == [
        before - n * US_PRICE for n in range(1, 17)
    ]
    assert queued == 16
    assert await balance(app, account_id) == before - 16 * US_PRICE


async def test_the_same_message_twice_in_one_batch_is_throttled(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings
) -> None:
    assert settings.sms_throttle_window > 0
    payload = {"messages": [{"to": us(7), "body": "Twice in one batch"}]}
    group = writer(app)
    async with held(app):
        requests = [
            asyncio.create_task(client.post("/v3/sms/send", json=payload)) for _ in range(2)
        ]
        await until(lambda: group.pending == 2, seconds=30)
    responses = await asyncio.gather(*requests)

    assert sorted(status(r) for r in responses) == ["SUCCESS", "THROTTLED"]


async def test_an_unguarded_unit_failing_after_its_debit_fails_its_whole_batch(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id = await owner_account(app)
    before = await balance(app, account_id)
    ids_before = await stored_ids(app)

    responses, error = await sends_in_one_batch(
        app, client, 4, debit_then_fail(account_id), savepoint=False
    )

    assert [r.status_code for r in responses] == [500] * 4
    assert "could not be saved" in str(error)  # the batch's error, not its own
    assert await stored_ids(app) == ids_before
    assert await balance(app, account_id) == before


async def test_an_unguarded_unit_failing_before_any_write_fails_alone(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    async def refuse(_conn: AsyncConnection) -> None:
        raise InvalidInput("refused before writing")

    responses, error = await sends_in_one_batch(app, client, 3, refuse, savepoint=False)

    assert [status(r) for r in responses] == ["SUCCESS"] * 3
    assert {message_id(r) for r in responses} <= await stored_ids(app)
    assert isinstance(error, InvalidInput)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_batch_locks_its_accounts_in_id_order_before_its_units_run(
    app: FastAPI,
) -> None:
    # Units arrive holding the higher id first; a transfer-like transaction holds the
    # lower and then wants the higher. Locked in arrival order, the batch would hold the
    # higher while waiting for the lower: a deadlock, and PostgreSQL aborts one side.
    engine = app.state.runtime.engine
    async with engine.begin() as conn:
        low, high = sorted(
            (
                await conn.execute(
                    accounts.insert().returning(accounts.c.id), [{"created_at": 0}] * 2
                )
            ).scalars()
        )
    locked: list[int] = []

    def locking(account_id: int) -> Callable[[AsyncConnection], Awaitable[None]]:
        async def work(conn: AsyncConnection) -> None:
            await store.lock_account(conn, account_id)
            locked.append(account_id)

        return work

    group = writer(app)
    async with engine.connect() as other:
        transaction = await other.begin()
        await store.lock_account(other, low)
        async with held(app):
            units = [
                asyncio.create_task(group.run(locking(account), savepoint=False, key=account))
                for account in (high, low)
            ]
            await until(lambda: group.pending == 2, seconds=30)
        await asyncio.sleep(0.2)  # the batch is now waiting for `low`, holding nothing
        assert locked == []
        await store.lock_account(other, high)  # would deadlock had the batch taken `high`
        await transaction.commit()
    await asyncio.gather(*units)
    assert locked == [high, low]  # the units themselves still ran in arrival order


async def test_many_concurrent_sends_share_a_few_commits(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # Authentication reads on the read pool: on SQLite a batch runs without yielding, so
    # each read connection let about one request through between two batches, and four of
    # them split 64 sends into 16 commits.
    group = writer(app)
    for _ in range(2):  # the first opens the pool's connections
        commits, units = group.commits, group.units
        responses = await asyncio.gather(*(send(client, n) for n in range(64)))
        assert [r.status_code for r in responses] == [200] * 64
    assert group.units - units == 64
    assert group.commits - commits <= 8


async def test_concurrent_sends_with_one_key_share_the_reload_of_their_caller(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    reader = app.state.runtime.reader.sync_engine
    user_reads = 0

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        nonlocal user_reads
        user_reads += "FROM users JOIN accounts" in statement

    assert (await send(client, 0)).status_code == 200  # verified: now cached
    sa.event.listen(reader, "before_cursor_execute", count)
    try:
        responses = await asyncio.gather(*(send(client, n) for n in range(32)))
    finally:
        sa.event.remove(reader, "before_cursor_execute", count)
    assert [r.status_code for r in responses] == [200] * 32
    assert 1 <= user_reads <= 8  # one per request before, 32


async def test_a_batch_of_several_accounts_reads_and_writes_their_balances_once_each_way(
    app: FastAPI,
) -> None:
    # Three accounts' debits in one batch: their balances are read with their lock, in one
    # statement, checked in memory, and written in one call; each account's charge exact,
    # the poorest refused once its credit is spent.
    engine = app.state.runtime.engine
    async with engine.begin() as conn:
        insert = accounts.insert().returning(accounts.c.id)
        poor, rich, idle = sorted((await conn.execute(insert, [{"created_at": 0}] * 3)).scalars())
    await set_balance(app, poor, 2 * US_PRICE)
    await set_balance(app, rich, 10 * US_PRICE)
    await set_balance(app, idle, US_PRICE)
    counts = {"read": 0, "write": 0}

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("SELECT accounts.id, accounts.balance_micros"):
            counts["read"] += 1
        elif statement.startswith("SELECT accounts.balance_micros"):
            counts["read"] += 100  # a read of one account's balance: not wanted here
        elif statement.startswith("UPDATE accounts"):
            counts["write"] += 1

    sa.event.listen(engine.sync_engine, "before_cursor_execute", seen)

    def debit(account_id: int) -> Callable[[AsyncConnection], Awaitable[bool]]:
        async def unit(conn: AsyncConnection) -> bool:
            return await store.debit(conn, account_id, US_PRICE)

        return unit

    group = writer(app)
    async with held(app):
        units = [
            asyncio.create_task(group.run(debit(account), key=account))
            for _ in range(3)
            for account in (rich, poor)
        ]
        await until(lambda: group.pending == 6, seconds=30)
    results = await asyncio.gather(*units)

    assert results == [True, True, True, True, True, False]  # (rich, poor) × 3
    assert counts == {"read": 1, "write": 1}
    assert await balance(app, rich) == 7 * US_PRICE
    assert await balance(app, poor) == 0
    assert await balance(app, idle) == US_PRICE
    async with engine.connect() as conn:
        entries = (
            await conn.execute(
                sa.select(ledger_entries.c.account_id, ledger_entries.c.balance_after_micros)
                .where(ledger_entries.c.account_id.in_([poor, rich, idle]))
                .order_by(ledger_entries.c.id)
            )
        ).all()
    assert [after for account, after in entries if account == rich] == [
        9 * US_PRICE,
        8 * US_PRICE,
        7 * US_PRICE,
    ]
    assert [after for account, after in entries if account == poor] == [US_PRICE, 0]
