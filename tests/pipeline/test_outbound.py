"""`dovecote.pipeline.outbound.accept` and `cancel` against a real database (both backends):
throttling, charging, queueing and refunds inside the caller's transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.accounts import service as account_service
from dovecote.core.models import Principal
from dovecote.pipeline import outbound
from dovecote.pipeline import queue as store
from dovecote.pipeline.events import Event, EventLog
from dovecote.pipeline.outbound import Outbound
from dovecote.storage.tables import accounts, messages

OWNER, OWNER_KEY = "owner", "0C0FFEE0-1234-4ABC-8DEF-000000000001"
START = 100_000_000
NOW = time.time()


def item(n: int, body: str = "Hello", **extra: Any) -> Outbound:
    values: dict[str, Any] = {
        "channel": "sms",
        "recipient": f"+1202555{n:04d}",
        "body": body,
        "country": "US",
        "price_micros": 29_000,
    }
    values.update(extra)
    return Outbound(**values)


@pytest.fixture
def engine(app: FastAPI) -> AsyncEngine:
    return app.state.runtime.engine  # type: ignore[no-any-return]


@pytest.fixture
async def principal(engine: AsyncEngine) -> Principal:
    async with engine.connect() as conn:
        return await account_service.authenticate_basic(conn, OWNER, OWNER_KEY)


async def accept(
    engine: AsyncEngine,
    principal: Principal,
    items: list[Outbound],
    *,
    now: float = NOW,
    window: int = 60,
    dry_run: bool = False,
) -> outbound.Accepted:
    async with engine.begin() as conn:
        return await outbound.accept(
            conn, principal, items, now=now, throttle_window=window, dry_run=dry_run, events=None
        )


async def balance(engine: AsyncEngine, principal: Principal) -> int:
    async with engine.connect() as conn:
        return await store.balance(conn, principal.account.id)


async def set_balance(engine: AsyncEngine, principal: Principal, micros: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            accounts.update()
            .where(accounts.c.id == principal.account.id)
            .values(balance_micros=micros)
        )


async def rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(sa.select(messages).order_by(messages.c.id))
        return [dict(r) for r in result.mappings()]


async def test_accepted_items_are_queued_charged_and_given_ids(
    engine: AsyncEngine, principal: Principal
) -> None:
    items = [item(1), item(2, status="INVALID_RECIPIENT"), item(3, schedule=int(NOW) + 600)]

    accepted = await accept(engine, principal, items)

    assert [i.status for i in accepted.items] == ["SUCCESS", "INVALID_RECIPIENT", "SUCCESS"]
    assert accepted.total_price_micros == 58_000
    assert accepted.currency == "USD"
    assert items[1].id is None
    stored = {r["id"]: r for r in await rows(engine)}
    assert set(stored) == {items[0].id, items[2].id}
    now_row, later_row = stored[str(items[0].id)], stored[str(items[2].id)]
    assert now_row["due_at"] == pytest.approx(NOW)
    assert later_row["due_at"] == int(NOW) + 600
    assert later_row["schedule"] == int(NOW) + 600
    assert now_row["body_hash"] == items[0].body_hash
    assert now_row["user_id"] == principal.user.id
    assert await balance(engine, principal) == START - 58_000


async def test_queued_events_carry_price_and_source_in_one_dict_per_distinct_pair(
    engine: AsyncEngine, principal: Principal
) -> None:
    # One dict per pair: the event log encodes each distinct object once (storage.bulk).
    recorded: list[Event] = []

    async def sink(conn: AsyncConnection, events: Sequence[Event]) -> None:
        recorded.extend(events)

    items = [item(1), item(2, price_micros=58_000), item(3), item(4, source="api"), item(5)]
    async with engine.begin() as conn:
        await outbound.accept(
            conn, principal, items, now=NOW, throttle_window=0, events=EventLog([sink])
        )

    assert [(e.message_id, e.data) for e in recorded] == [
        (i.id, {"price_micros": i.price_micros, "source": i.source}) for i in items
    ]
    assert recorded[0].data is recorded[2].data is recorded[4].data
    assert len({id(e.data) for e in recorded}) == 3


async def test_a_rolled_back_transaction_neither_charges_nor_queues(
    engine: AsyncEngine, principal: Principal
) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with engine.begin() as conn:
            await outbound.accept(
                conn, principal, [item(4)], now=NOW, throttle_window=60, events=None
            )
            assert await store.balance(conn, principal.account.id) == START - 29_000
            raise Abort

    assert await rows(engine) == []
    assert await balance(engine, principal) == START


async def test_a_dry_run_sets_statuses_but_writes_nothing(
    engine: AsyncEngine, principal: Principal
) -> None:
    await set_balance(engine, principal, 29_000)
    items = [item(5), item(6), item(5)]

    accepted = await accept(engine, principal, items, dry_run=True)

    assert [i.status for i in accepted.items] == ["SUCCESS", "INSUFFICIENT_CREDIT", "THROTTLED"]
    assert all(i.id is None for i in items)
    assert await rows(engine) == []
    assert await balance(engine, principal) == 29_000


async def test_the_throttle_window_is_measured_from_the_earlier_send(
    engine: AsyncEngine, principal: Principal
) -> None:
    await accept(engine, principal, [item(7, "Same")], now=NOW)

    inside = await accept(engine, principal, [item(7, "Same")], now=NOW + 59)
    outside = await accept(engine, principal, [item(7, "Same")], now=NOW + 61)

    assert [i.status for i in inside.items] == ["THROTTLED"]
    assert [i.status for i in outside.items] == ["SUCCESS"]


async def test_a_throttled_item_is_neither_charged_nor_stored(
    engine: AsyncEngine, principal: Principal
) -> None:
    await accept(engine, principal, [item(8, "Same"), item(8, "Same"), item(8, "Other")])

    assert len(await rows(engine)) == 2
    assert await balance(engine, principal) == START - 58_000


async def test_the_throttle_ignores_cancelled_messages(
    engine: AsyncEngine, principal: Principal
) -> None:
    first = item(9, "Again", schedule=int(NOW) + 600)
    await accept(engine, principal, [first])
    async with engine.begin() as conn:
        await outbound.cancel(conn, principal, "sms", [str(first.id)], now=NOW)

    again = await accept(engine, principal, [item(9, "Again")])

    assert [i.status for i in again.items] == ["SUCCESS"]


async def test_test_numbers_are_queued_as_settled_free_and_unclaimable(
    engine: AsyncEngine, principal: Principal
) -> None:
    test = item(0, recipient="+61411111111", price_micros=0, is_test=True)

    await accept(engine, principal, [test, replace(test)])

    stored = await rows(engine)
    assert [(r["status"], r["due_at"], r["is_test"]) for r in stored] == [("test", None, True)] * 2
    assert await balance(engine, principal) == START


async def test_an_inactive_account_gets_account_not_activated_for_everything(
    engine: AsyncEngine, principal: Principal
) -> None:
    inactive = replace(principal, account=replace(principal.account, active=False))
    items = [item(10), item(11, status="INVALID_RECIPIENT")]

    await accept(engine, inactive, items)

    assert [i.status for i in items] == ["ACCOUNT_NOT_ACTIVATED", "ACCOUNT_NOT_ACTIVATED"]
    assert await rows(engine) == []
    assert await balance(engine, principal) == START


async def test_a_short_balance_charges_exactly_what_it_queues(
    engine: AsyncEngine, principal: Principal
) -> None:
    await set_balance(engine, principal, 60_000)
    items = [item(12), item(13), item(14)]

    accepted = await accept(engine, principal, items)

    assert [i.status for i in items] == ["SUCCESS", "SUCCESS", "INSUFFICIENT_CREDIT"]
    assert accepted.total_price_micros == 58_000
    assert await balance(engine, principal) == 2_000
    assert len(await rows(engine)) == 2


async def test_the_balance_dropping_between_reading_it_and_debiting_is_retried(
    engine: AsyncEngine, principal: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first read sees a balance another request is about to spend: the debit based
    # on it fails, and the retry must settle for what is really left.
    await set_balance(engine, principal, 29_000)
    real_balance = store.balance
    reads: list[int] = []

    async def stale_then_real(conn: Any, account_id: int) -> int:
        value = 87_000 if not reads else await real_balance(conn, account_id)
        reads.append(value)
        return value

    monkeypatch.setattr(store, "balance", stale_then_real)
    items = [item(15), item(16), item(17), item(18)]

    accepted = await accept(engine, principal, items)

    assert reads == [87_000, 29_000]
    assert [i.status for i in items] == ["SUCCESS"] + ["INSUFFICIENT_CREDIT"] * 3
    assert accepted.total_price_micros == 29_000
    monkeypatch.undo()
    assert await balance(engine, principal) == 0
    assert len(await rows(engine)) == 1


async def test_cancel_refunds_only_unclaimed_messages_of_the_channel(
    engine: AsyncEngine, principal: Principal
) -> None:
    queued, claimed, other_channel = item(19), item(20), item(21, channel="email")
    await accept(engine, principal, [queued, claimed, other_channel])
    async with engine.begin() as conn:
        await conn.execute(
            messages.update().where(messages.c.id == claimed.id).values(lease_owner="w1")
        )

    async with engine.begin() as conn:
        cancelled = await outbound.cancel(
            conn,
            principal,
            "sms",
            [str(queued.id), str(claimed.id), str(other_channel.id)],
            now=NOW,
        )

    assert cancelled == [queued.id]
    assert await balance(engine, principal) == START - 2 * 29_000
    statuses = {r["id"]: r["status"] for r in await rows(engine)}
    assert statuses == {queued.id: "cancelled", claimed.id: "queued", other_channel.id: "queued"}


async def test_cancel_all_of_a_channel(engine: AsyncEngine, principal: Principal) -> None:
    await accept(engine, principal, [item(22), item(23), item(24, body="x", price_micros=58_000)])

    async with engine.begin() as conn:
        cancelled = await outbound.cancel(conn, principal, "sms", None, now=NOW)

    assert len(cancelled) == 3
    assert await balance(engine, principal) == START


async def test_cancel_with_a_user_scope_touches_only_that_users_messages(
    engine: AsyncEngine, principal: Principal
) -> None:
    async with engine.begin() as conn:
        created = await account_service.create_subaccount(
            conn,
            principal,
            {"api_username": "sub", "access_reporting": False},
            password=None,
        )
        sub = await account_service.authenticate_bearer(conn, created.api_key)
    owners, subs = [item(25), item(26)], [item(27)]
    await accept(engine, principal, owners)
    await accept(engine, sub, subs)
    every_id = [str(i.id) for i in owners + subs]

    async with engine.begin() as conn:
        by_id = await outbound.cancel(conn, sub, "sms", every_id, now=NOW, user_id=sub.user.id)
    async with engine.begin() as conn:
        by_all = await outbound.cancel(conn, sub, "sms", None, now=NOW, user_id=sub.user.id)

    assert by_id == [subs[0].id]
    assert by_all == []
    statuses = {r["id"]: r["status"] for r in await rows(engine)}
    assert statuses == {owners[0].id: "queued", owners[1].id: "queued", subs[0].id: "cancelled"}
    assert await balance(engine, principal) == START - 2 * 29_000
