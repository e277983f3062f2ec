"""Writes on the message queue: accept (debit + insert), cancel, claim, finish.

The database is the queue. A row is claimable while `due_at <= now`; claiming pushes
`due_at` to the end of the lease, so a worker that dies mid-batch simply lets the lease
run out and another worker claims the rows again (at-least-once, never lost).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.billing import ledger
from dovecote.pipeline import leases
from dovecote.pipeline import status as st
from dovecote.pipeline.transports.base import Job
from dovecote.storage import bulk, deferred
from dovecote.storage.tables import (
    accounts,
    message_content,
    message_payloads,
    messages,
)


async def debit(
    conn: AsyncConnection,
    account_id: int,
    amount_micros: int,
    *,
    kind: str = ledger.SEND,
    reference: str = "",
) -> bool:
    """Take credit if the balance covers it, with its ledger entry. Atomic: concurrent
    sends never overdraw (see `billing.ledger.debit`)."""
    return await ledger.debit(conn, account_id, amount_micros, kind=kind, reference=reference)


async def credit(
    conn: AsyncConnection,
    account_id: int,
    amount_micros: int,
    *,
    kind: str = ledger.REFUND,
    reference: str = "",
) -> None:
    await ledger.credit(conn, account_id, amount_micros, kind=kind, reference=reference)


async def lock_account(conn: AsyncConnection, account_id: int) -> None:
    """Hold the account's row lock until the transaction ends (PostgreSQL; a no-op on
    SQLite, whose write lock serializes every writer)."""
    batch = deferred.of(conn)
    if batch is not None and batch.holds(account_id):
        return  # the group commit locked it before this unit ran
    if conn.dialect.name == "postgresql":
        query = sa.select(accounts.c.id).where(accounts.c.id == account_id).with_for_update()
        await conn.execute(query)


async def balance(conn: AsyncConnection, account_id: int) -> int:
    return await ledger.balance(conn, account_id)


async def recent_pairs(
    conn: AsyncConnection, account_id: int, recipients: Iterable[str], since: int
) -> set[tuple[str, str]]:
    """(recipient, body_hash) pairs sent since `since`: one query for a whole batch."""
    wanted = sorted(set(recipients))
    found: set[tuple[str, str]] = set()
    # Bounded IN lists: SQLite caps bound parameters, and big lists plan badly on PostgreSQL.
    for start in range(0, len(wanted), 500):
        query = sa.select(messages.c.recipient, messages.c.body_hash).where(
            messages.c.account_id == account_id,
            messages.c.recipient.in_(wanted[start : start + 500]),
            messages.c.created_at >= since,
            messages.c.direction == "out",
            messages.c.status != st.CANCELLED,
        )
        found.update((r, h) for r, h in await conn.execute(query))
    batch = deferred.of(conn)
    if batch is not None:
        # Earlier sends of the same group commit are not in the table yet, only queued
        # for its commit: they count as sent (just now, inside any window).
        found.update(
            (row["recipient"], row["body_hash"])
            for row in batch.pending(messages)
            if row["account_id"] == account_id and row["recipient"] in wanted
        )
    return found


async def insert_messages(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    await _insert(conn, messages, rows)


async def insert_payloads(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    await _insert(conn, message_payloads, rows)


async def _insert(conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """At once, or with the group commit's batch (`storage.deferred`)."""
    if not rows:
        return
    batch = deferred.of(conn)
    if batch is not None:
        batch.insert(table, rows)
    else:
        await bulk.insert_rows(conn, table, rows)


async def cancel(
    conn: AsyncConnection,
    account_id: int,
    message_ids: Sequence[str] | None,
    channel: str,
    now: float,
    user_id: int | None = None,
) -> list[tuple[str, int]]:
    """Cancel queued, unclaimed messages; returns (id, price) of each one cancelled.

    `due_at > now` is what "unclaimed" means for scheduled rows; an immediate row that a
    worker has not yet claimed also has `status == queued` and a lease-free `lease_owner`.
    With `user_id`, only that user's messages (a caller that may not see the others').
    """
    query = (
        messages.update()
        .where(
            messages.c.account_id == account_id,
            messages.c.channel == channel,
            messages.c.status == st.QUEUED,
            messages.c.lease_owner.is_(None),
        )
        .values(status=st.CANCELLED, due_at=None, updated_at=int(now))
        .returning(messages.c.id, messages.c.price_micros)
    )
    if message_ids is not None:
        query = query.where(messages.c.id.in_(message_ids))
    if user_id is not None:
        query = query.where(messages.c.user_id == user_id)
    return [(str(i), int(p)) for i, p in await conn.execute(query)]


# What the dispatcher needs of a claimed row; returning every column cost ~15% of a pass.
CLAIMED_COLUMNS = (
    messages.c.id,
    messages.c.account_id,
    messages.c.user_id,
    messages.c.channel,
    messages.c.status,
    messages.c.sender,
    messages.c.recipient,
    messages.c.subject,
    messages.c.body,
    messages.c.attempts,
    messages.c.custom_string,
    messages.c.created_at,
    messages.c.sent_at,
    messages.c.transport_ref,
)


async def claim(
    conn: AsyncConnection, *, owner: str, now: float, lease: float, limit: int
) -> list[sa.RowMapping]:
    """Claim up to `limit` due messages (see `pipeline.leases.claim`)."""
    return await leases.claim(
        conn,
        messages,
        owner=owner,
        now=now,
        lease=lease,
        limit=limit,
        values={"lease_until": now + lease},
        returning=CLAIMED_COLUMNS,
    )


async def hold_leases(conn: AsyncConnection, owner: str, ids: Sequence[str]) -> set[str]:
    """Of `ids`, the rows `owner` still leases, locked until the transaction ends.

    A no-op write rather than a SELECT: it takes PostgreSQL's row locks and SQLite's write
    lock, so no other worker can claim these rows between this check and `finish`.
    """
    held: set[str] = set()
    for start in range(0, len(ids), 500):
        query = (
            messages.update()
            .where(messages.c.id.in_(ids[start : start + 500]), messages.c.lease_owner == owner)
            .values(lease_owner=messages.c.lease_owner)
            .returning(messages.c.id)
        )
        held.update(str(i) for i in (await conn.execute(query)).scalars())
    return held


async def finish(conn: AsyncConnection, updates: Sequence[dict[str, Any]]) -> None:
    """Apply outcomes in one statement per shape (`bulk.update_rows`). Each dict has `_id`, `_owner` and the new values;
    the owner check drops the write if the lease was lost and another worker took the row."""
    if not updates:
        return
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for update in updates:
        by_shape.setdefault(tuple(sorted(update)), []).append(update)
    for batch in by_shape.values():
        await bulk.update_rows(conn, messages, batch, {"_id": "id", "_owner": "lease_owner"})


async def payloads(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    where = bulk.any_of(message_payloads.c.message_id, ids, conn.dialect.name)
    query = sa.select(message_payloads).where(where)
    return {row.message_id: dict(row.payload) for row in await conn.execute(query)}


async def contents(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, bytes]:
    where = bulk.any_of(message_content.c.message_id, ids, conn.dialect.name)
    query = sa.select(message_content).where(where)
    return {row.message_id: bytes(row.content) for row in await conn.execute(query)}


def job_from_row(
    row: Mapping[Any, Any], payload: dict[str, Any] | None = None, content: bytes | None = None
) -> Job:
    return Job(
        id=row["id"],
        account_id=row["account_id"],
        user_id=row["user_id"],
        channel=row["channel"],
        sender=row["sender"],
        recipient=row["recipient"],
        subject=row["subject"],
        body=row["body"],
        attempts=row["attempts"],
        custom_string=row["custom_string"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        transport_ref=row["transport_ref"],
        payload=payload,
        content=content,
    )


@dataclass(frozen=True, slots=True)
class StoredJob:
    job: Job
    status: str
    leased: bool


async def load_job(conn: AsyncConnection, message_id: str) -> StoredJob | None:
    """One message, for an outcome that arrives out of band: the row alone (one query).
    Applying an outcome needs no payload and no content — an email's MIME can be
    megabytes — so the job carries neither."""
    query = sa.select(*CLAIMED_COLUMNS, messages.c.lease_owner).where(messages.c.id == message_id)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        return None
    return StoredJob(job_from_row(row), row["status"], row["lease_owner"] is not None)


async def finish_unleased(conn: AsyncConnection, updates: Sequence[dict[str, Any]]) -> bool:
    """Apply out-of-band outcomes to rows no worker holds and that are not final yet;
    False if any row did not qualify (nothing is written then: the caller rolls back)."""
    for update in updates:
        values = {name: value for name, value in update.items() if not name.startswith("_")}
        result = await conn.execute(
            messages.update()
            .where(
                messages.c.id == update["_id"],
                messages.c.lease_owner.is_(None),
                messages.c.status.not_in(sorted(st.FINAL_STATUSES)),
            )
            .values(values)
        )
        if result.rowcount != 1:
            return False
    return True
