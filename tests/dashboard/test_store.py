"""The dashboard's reads: keyset pages across channels, filters, search, threads, scope."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI

from dovecote.dashboard import store
from dovecote.pipeline.scope import Scope
from dovecote.runtime import Runtime
from dovecote.storage.tables import SYSTEM_SOURCE, messages

NOW = int(time.time())


def _row(n: int, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"00000000-0000-0000-0000-{n:012d}",
        "account_id": 1,
        "user_id": 1,
        "channel": "sms",
        "direction": "out",
        "sender": "Shop",
        "recipient": f"+1202555{n % 7:04d}",
        "subject": None,
        "body": f"message {n}",
        "source": None,
        "group_id": None,
        "status": "delivered",
        "created_at": NOW - n // 3,  # three rows per second: ties the cursor must break
        "updated_at": NOW,
    }
    row.update(changes)
    return row


async def _insert(app: FastAPI, rows: list[dict[str, Any]]) -> Runtime:
    runtime: Runtime = app.state.runtime
    async with runtime.engine.begin() as conn:
        await conn.execute(messages.insert(), rows)
    return runtime


async def test_keyset_pages_walk_every_message_once_newest_first(app: FastAPI) -> None:
    rows = [_row(n) for n in range(120)]
    runtime = await _insert(app, rows)
    seen: list[str] = []
    after = None
    async with runtime.engine.connect() as conn:
        while True:
            page, after = await store.list_messages(conn, Scope(1), store.Filter(), after)
            seen.extend(row["id"] for row in page)
            if after is None:
                break

    newest_first = sorted(rows, key=lambda row: (row["created_at"], row["id"]), reverse=True)
    assert seen == [row["id"] for row in newest_first]


async def test_filters_and_search(app: FastAPI) -> None:
    runtime = await _insert(
        app,
        [
            _row(1, channel="email", recipient="ann@example.net", subject="100% off"),
            _row(2, direction="in", sender="+12025559999", recipient="Shop", status="received"),
            _row(3, status="failed"),
            _row(4, body="nothing 100 here"),
            _row(5, source=SYSTEM_SOURCE, channel="email", recipient="ann@example.net"),
            _row(6, group_id=_row(1)["id"], channel="email", recipient="bob@example.net"),
            _row(7, account_id=2),
        ],
    )

    async def ids(**criteria: Any) -> list[int]:
        async with runtime.engine.connect() as conn:
            rows, _ = await store.list_messages(conn, Scope(1), store.Filter(**criteria))
        return [int(row["id"][-12:]) for row in rows]

    # System mail, a unit's other recipients and other accounts are never listed.
    assert await ids() == [2, 1, 4, 3]  # newest first; ties by id
    assert await ids(channel="email") == [1]
    assert await ids(status="failed") == [3]
    assert await ids(direction="in") == [2]
    assert await ids(q="+12025559999") == [2]  # an inbound's sender
    assert await ids(q="ann@example.net") == [1]
    assert await ids(q=_row(3)["id"].lower()) == [3]
    assert await ids(q="100%") == [1]  # % is a character, not a wildcard


async def test_the_phone_lists_threads_and_one_conversation(app: FastAPI) -> None:
    runtime = await _insert(
        app,
        [
            _row(1, recipient="+12025550001", body="first"),
            _row(2, direction="in", sender="+12025550001", recipient="Shop", body="reply"),
            _row(3, recipient="+12025550002", body="other"),
            _row(4, recipient="+12025550001", user_id=2, body="a colleague's"),
        ],
    )
    async with runtime.engine.connect() as conn:
        threads = await store.threads(conn, Scope(1))
        mine = await store.thread(conn, Scope(1, 1), "+12025550001")
        everyone = await store.thread(conn, Scope(1), "+12025550001")

    assert [(t["number"], t["count"]) for t in threads] == [
        ("+12025550001", 3),
        ("+12025550002", 1),
    ]
    assert [row["body"] for row in everyone] == ["a colleague's", "first", "reply"]
    assert [row["body"] for row in mine] == ["first", "reply"]
