"""Opt-outs inside a group commit: whether the account has an opt-out list is read once per
account per batch (`contacts.store.has_opt_out_list`), and nothing a send must refuse gets
through because of it.

The writer is held on a gate while units queue behind it, so a batch is exactly the units
a test chose, on SQLite and PostgreSQL.
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

from dovecote.contacts import optouts
from dovecote.contacts import store as contact_store
from dovecote.core.errors import InvalidInput
from dovecote.settings import Settings
from dovecote.storage.tables import accounts, users
from group_commit_support import held, send, status, us, writer
from smsc_support import until

Unit = Callable[[AsyncConnection], Awaitable[Any]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"sms_group_commit": True})


async def owner(app: FastAPI) -> tuple[int, int]:
    """The owner's account and user ids."""
    async with app.state.runtime.engine.connect() as conn:
        query = sa.select(users.c.account_id, users.c.id).where(users.c.username == "owner")
        account_id, user_id = (await conn.execute(query)).one()
    return int(account_id), int(user_id)


async def opt_out_now(app: FastAPI, number: str) -> None:
    """`number` opted out in a transaction of its own, committed before what follows."""
    account_id, user_id = await owner(app)
    async with app.state.runtime.engine.begin() as conn:
        await optouts.opt_out(conn, account_id, user_id, number)


async def queued(app: FastAPI, count: int) -> None:
    await until(lambda: writer(app).pending == count, seconds=30)


async def test_a_number_opted_out_before_the_batch_is_refused_in_it(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await opt_out_now(app, us(2))

    async with held(app):
        requests = []
        for n in (1, 2, 3, 2):
            requests.append(asyncio.create_task(send(client, n)))
            await queued(app, len(requests))  # in this order
    responses = await asyncio.gather(*requests)

    assert [status(r) for r in responses] == ["SUCCESS", "OPTED_OUT", "SUCCESS", "OPTED_OUT"]


async def test_a_list_created_after_a_batch_is_seen_by_the_next(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert status(await send(client, 1)) == "SUCCESS"  # a batch that found no list

    await opt_out_now(app, us(2))

    assert status(await send(client, 2)) == "OPTED_OUT"


async def test_a_list_created_inside_the_batch_is_seen_by_its_later_units(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    account_id, user_id = await owner(app)

    async def opt_out(conn: AsyncConnection) -> None:
        await optouts.opt_out(conn, account_id, user_id, us(2))

    async with held(app):
        first = asyncio.create_task(send(client, 1))  # finds no list
        await queued(app, 1)
        creating = asyncio.create_task(writer(app).run(opt_out, key=account_id))
        await queued(app, 2)
        later = asyncio.create_task(send(client, 2))
        await queued(app, 3)
    await creating

    assert status(await first) == "SUCCESS"
    assert status(await later) == "OPTED_OUT"


async def test_a_unit_that_deletes_the_list_and_fails_hides_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    # The failed unit saw no list once it deleted it; its rollback brings the list back,
    # and the units after it must see it again.
    await opt_out_now(app, us(2))
    account_id, _ = await owner(app)

    async def delete_then_fail(conn: AsyncConnection) -> None:
        list_id = await contact_store.opt_out_list_id(conn, account_id)
        assert list_id is not None
        assert await contact_store.delete_list(conn, account_id, list_id)
        assert await optouts.opted_out(conn, account_id, [us(2)]) == set()
        raise InvalidInput("failed after deleting the list")

    async with held(app):
        failing = asyncio.create_task(writer(app).run(delete_then_fail, key=account_id))
        await queued(app, 1)
        later = asyncio.create_task(send(client, 2))
        await queued(app, 2)

    with pytest.raises(InvalidInput):
        await failing
    assert status(await later) == "OPTED_OUT"


def count_opt_out_reads(app: FastAPI) -> dict[str, int]:
    """From now on: reads of which accounts have an opt-out list (the batch's, ahead of its
    units), of one list's id, and of numbers in a list."""
    counts = {"ahead": 0, "list": 0, "numbers": 0}

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.startswith("SELECT DISTINCT contact_lists.account_id"):
            counts["ahead"] += 1
        elif statement.startswith("SELECT min(contact_lists.id)"):
            counts["list"] += 1
        elif statement.startswith("SELECT contacts.phone_number"):
            counts["numbers"] += 1

    sa.event.listen(app.state.runtime.engine.sync_engine, "before_cursor_execute", seen)
    return counts


async def test_a_batch_reads_which_of_its_accounts_have_an_opt_out_list_once(
    app: FastAPI,
) -> None:
    await opt_out_now(app, us(2))
    with_list, _ = await owner(app)
    async with app.state.runtime.engine.begin() as conn:
        insert = accounts.insert().returning(accounts.c.id)
        without_list = int((await conn.execute(insert, {"created_at": 0})).scalar_one())

    def check(account_id: int, n: int) -> Unit:
        async def unit(conn: AsyncConnection) -> set[str]:
            return await optouts.opted_out(conn, account_id, [us(n)])

        return unit

    reads = count_opt_out_reads(app)
    async with held(app):
        units = [
            asyncio.create_task(writer(app).run(check(account, n), key=account))
            for n in range(1, 5)
            for account in (with_list, without_list)
        ]
        await queued(app, 8)
    found = await asyncio.gather(*units)

    assert found == [set(), set(), {us(2)}, set(), set(), set(), set(), set()]
    assert (reads["ahead"], reads["list"]) == (1, 0)  # one statement for both accounts
    assert reads["numbers"] == 4  # each check of the account that has a list
