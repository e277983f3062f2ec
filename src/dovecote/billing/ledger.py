"""The ledger: every change of an account's balance is one signed entry, written in the
same transaction as the balance update, so `accounts.balance_micros` = Σ entries always.

`debit` and `credit` are the only writers of a balance after an account exists (the
opening balance of a new account is written with the account, in `accounts.store`, which
sits below this layer). The UPDATE … RETURNING hands back the new balance and currency, so
recording them needs no extra read: on PostgreSQL the UPDATE and the INSERT are one
statement (a data-modifying CTE), on SQLite two (in-process, no network round trip).

Inside a group commit that holds the account's row for its whole transaction
(storage/deferred.py: SQLite's write lock, or the batch's accounts locked first on
PostgreSQL), the balance is read once, each debit is checked in memory against it and the
batch's earlier changes, and the row is written once with their sum before the commit:
one busy account's sends no longer queue on its balance row one statement at a time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput
from dovecote.storage import bulk, deferred
from dovecote.storage.tables import accounts, ledger_entries

# Kinds of entry. A debit's default is SEND and a credit's REFUND: the two callers that
# predate the ledger (message acceptance and cancellation), so an unlabelled call from a
# branch written before kinds existed is still filed truthfully.
SEND = "send"
REFUND = "refund"
PURCHASE = "purchase"
NUMBER_RENTAL = "number_rental"
ADJUSTMENT = "adjustment"
OPENING = "opening"
TRANSFER_IN = "transfer_in"
TRANSFER_OUT = "transfer_out"
KINDS = (SEND, REFUND, PURCHASE, NUMBER_RENTAL, ADJUSTMENT, OPENING, TRANSFER_IN, TRANSFER_OUT)

_REFERENCE_MAX = 200


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    account_id: int
    amount_micros: int
    balance_after_micros: int
    currency: str
    kind: str
    reference: str
    created_at: int


def _check(amount_micros: int, kind: str) -> None:
    if amount_micros < 0:
        raise ValueError(f"amount must not be negative: {amount_micros}")
    if kind not in KINDS:
        raise ValueError(f"unknown ledger kind: {kind!r}")


def _update(*, covered: bool) -> sa.Update:
    """Add `p_delta` to the balance (only if the balance stays ≥ 0 when `covered`),
    handing back the new balance and the currency."""
    update = accounts.update().where(accounts.c.id == sa.bindparam("p_account"))
    if covered:
        update = update.where(accounts.c.balance_micros >= sa.bindparam("p_floor"))
    return update.values(
        balance_micros=accounts.c.balance_micros + sa.bindparam("p_delta")
    ).returning(accounts.c.balance_micros, accounts.c.currency)


def _recorded(update: sa.Update) -> sa.Insert:
    """PostgreSQL: one statement, one round trip — the UPDATE in a CTE feeds the INSERT,
    which writes nothing when the UPDATE matched nothing (a short balance)."""
    changed = update.cte("changed")
    return ledger_entries.insert().from_select(
        _COLUMNS,
        sa.select(
            sa.bindparam("p_account", type_=sa.BigInteger),
            sa.bindparam("p_delta", type_=sa.BigInteger),
            changed.c.balance_micros,
            changed.c.currency,
            sa.bindparam("p_kind", type_=sa.String),
            sa.bindparam("p_reference", type_=sa.String),
            sa.bindparam("p_created", type_=sa.BigInteger),
        ),
    )


async def _apply(
    conn: AsyncConnection,
    account_id: int,
    delta: int,
    kind: str,
    reference: str,
    *,
    covered: bool,
) -> bool:
    """Add `delta` to the balance (only if the balance stays ≥ 0 when `covered`) and record
    it; False, with nothing written, when no row matched."""
    parameters = {
        "p_account": account_id,
        "p_delta": delta,
        "p_floor": -delta,
        "p_kind": kind,
        "p_reference": reference[:_REFERENCE_MAX],
        "p_created": int(time.time()),
    }
    batch = deferred.of(conn)
    if batch is not None and batch.holds(account_id):
        return await _apply_held(conn, batch, parameters, covered=covered)
    if batch is not None:
        batch.reads.pop(_stored(account_id), None)  # the row changes now
    if conn.dialect.name == "postgresql":
        inserted = await conn.execute(_RECORDED[covered], parameters)
        if batch is not None:
            batch.wrote = True
        return inserted.rowcount == 1
    row = (await conn.execute(_UPDATE[covered], parameters)).one_or_none()
    if row is None:
        return False
    entry = _entry(parameters, int(row[0]), str(row[1]))
    if batch is not None:
        # In a group commit the entry is written with the batch's others, just before
        # its commit (storage/deferred.py); entries keep the order of their debits.
        batch.wrote = True
        batch.insert(ledger_entries, [entry])
    else:
        await conn.execute(ledger_entries.insert(), entry)
    return True


async def _apply_held(
    conn: AsyncConnection, batch: deferred.Deferred, parameters: dict[str, Any], *, covered: bool
) -> bool:
    """`_apply` in a group commit holding the account's row from its start to its commit
    (storage/deferred.py): the balance is read once per batch, each change is checked
    against it plus the batch's earlier changes, and the balance row is written once, at
    the flush, with their sum. A busy account's sends then cost no statement each for
    their debit, and its row is written once per commit, not once per send."""
    account_id, delta = parameters["p_account"], parameters["p_delta"]
    held = await _held_balance(conn, batch, account_id)
    if held is None:
        return False  # no such account, as the UPDATE matching nothing
    start, currency = held
    key = _unwritten(account_id)
    balance = start + sum(batch.gathered(key)) + delta
    if covered and balance < 0:
        return False
    batch.wrote = True
    batch.gather(key, None, [delta])  # the running sum the next change is checked against
    batch.gather(_BALANCES, _write_balances, [(account_id, delta)])
    entry = _entry(parameters, balance, currency)
    batch.insert(ledger_entries, [entry])
    return True


def _entry(parameters: dict[str, Any], balance_after: int, currency: str) -> dict[str, Any]:
    """The ledger row of one applied change."""
    return {
        "account_id": parameters["p_account"],
        "amount_micros": parameters["p_delta"],
        "balance_after_micros": balance_after,
        "currency": currency,
        "kind": parameters["p_kind"],
        "reference": parameters["p_reference"],
        "created_at": parameters["p_created"],
    }


def _unwritten(account_id: int) -> tuple[str, int]:
    """The batch's key for the changes of `account_id` not yet written to its row."""
    return ("ledger.delta", account_id)


def _stored(account_id: int) -> tuple[str, int]:
    """The batch's key for the balance of `account_id` as its row holds it."""
    return ("ledger.balance", account_id)


async def _held_balance(
    conn: AsyncConnection, batch: deferred.Deferred, account_id: int
) -> tuple[int, str] | None:
    """The balance and currency as stored (without the batch's unwritten changes)."""
    key = _stored(account_id)
    if key not in batch.reads:
        row = (await conn.execute(_STORED, {"p_account": account_id})).one_or_none()
        batch.reads[key] = None if row is None else (int(row[0]), str(row[1]))
    found: tuple[int, str] | None = batch.reads[key]
    return found


# The batch's key for every held account's changes, written together at the flush.
_BALANCES = ("ledger.balances",)


async def _write_balances(conn: AsyncConnection, changes: list[tuple[int, int]]) -> None:
    """Each held account's row moved by the sum of its changes: one call for all of them
    (an executemany, pipelined by asyncpg), in id order like their locks. A statement per
    account cost ~0.1 ms of SQLAlchemy each, per batch: a batch of sends of eight accounts
    paid it eight times."""
    totals: dict[int, int] = {}
    for account_id, delta in changes:
        totals[account_id] = totals.get(account_id, 0) + delta
    rows = [{"p_account": a, "p_delta": d} for a, d in sorted(totals.items()) if d]
    if len(rows) == 1:
        await conn.execute(_ADD, rows[0])
    elif rows:
        await conn.execute(_ADD, rows)


async def hold(conn: AsyncConnection, account_ids: Sequence[int]) -> None:
    """Lock the accounts' rows in id order (PostgreSQL; SQLite's write lock already holds
    every row) — the order `transfer` takes two in, so that two transactions locking
    overlapping sets wait on each other instead of deadlocking — and, in a group commit,
    keep their balances as read under the lock: the batch's debits then read nothing. One
    statement for every account of the batch, where each account's first debit read its
    own (`_held_balance`)."""
    ids = sorted(set(account_ids))
    dialect = conn.dialect.name
    query = (
        sa.select(accounts.c.id, accounts.c.balance_micros, accounts.c.currency)
        .where(bulk.any_of(accounts.c.id, ids, dialect))
        .order_by(accounts.c.id)
    )
    if dialect == "postgresql":
        query = query.with_for_update()
    rows = (await conn.execute(query)).all()
    batch = deferred.of(conn)
    if batch is not None:
        for account_id, balance_micros, currency in rows:
            batch.reads[_stored(int(account_id))] = (int(balance_micros), str(currency))


async def balance(conn: AsyncConnection, account_id: int) -> int:
    """The account's balance, including what a group commit's batch has changed so far."""
    batch = deferred.of(conn)
    if batch is not None and batch.holds(account_id):
        held = await _held_balance(conn, batch, account_id)
        if held is not None:
            return held[0] + int(sum(batch.gathered(_unwritten(account_id))))
    result = await conn.execute(_STORED, {"p_account": account_id})
    return int(result.one()[0])


_STORED = sa.select(accounts.c.balance_micros, accounts.c.currency).where(
    accounts.c.id == sa.bindparam("p_account")
)
_ADD = (
    accounts.update()
    .where(accounts.c.id == sa.bindparam("p_account"))
    .values(balance_micros=accounts.c.balance_micros + sa.bindparam("p_delta"))
)


_COLUMNS = (
    "account_id",
    "amount_micros",
    "balance_after_micros",
    "currency",
    "kind",
    "reference",
    "created_at",
)

# Built once per kind (covered or not): a debit runs on every send, and building the
# statements and their cache keys per call cost more CPU than running them.
_UPDATE = {covered: _update(covered=covered) for covered in (False, True)}
_RECORDED = {covered: _recorded(_UPDATE[covered]) for covered in (False, True)}


async def debit(
    conn: AsyncConnection,
    account_id: int,
    amount_micros: int,
    *,
    kind: str = SEND,
    reference: str = "",
) -> bool:
    """Take `amount_micros` if the balance covers it and record it; False (nothing
    written) when it does not. One conditional UPDATE: concurrent debits never overdraw."""
    _check(amount_micros, kind)
    if amount_micros == 0:
        return True
    return await _apply(conn, account_id, -amount_micros, kind, reference, covered=True)


async def credit(
    conn: AsyncConnection,
    account_id: int,
    amount_micros: int,
    *,
    kind: str = REFUND,
    reference: str = "",
) -> bool:
    """Add `amount_micros` and record it; False when the account does not exist."""
    _check(amount_micros, kind)
    if amount_micros == 0:
        return True
    return await _apply(conn, account_id, amount_micros, kind, reference, covered=False)


async def transfer(
    conn: AsyncConnection,
    from_account: int,
    to_account: int,
    amount_micros: int,
    *,
    reference: str = "",
) -> bool:
    """Move credit between two accounts in the caller's transaction: a TRANSFER_OUT entry
    on one side and a TRANSFER_IN on the other, or nothing when `from_account` is short.

    On PostgreSQL both rows are locked first, in id order: two opposite transfers that each
    locked their payer first would wait on each other forever (a deadlock the ledger storm
    test met). SQLite serializes writers, so it needs no lock.
    """
    if from_account == to_account:
        raise ValueError("a transfer needs two accounts")
    if conn.dialect.name == "postgresql":
        pair = sorted((from_account, to_account))
        await conn.execute(
            sa.select(accounts.c.id)
            .where(accounts.c.id.in_(pair))
            .order_by(accounts.c.id)
            .with_for_update()
        )
    if not await debit(conn, from_account, amount_micros, kind=TRANSFER_OUT, reference=reference):
        return False
    if not await credit(conn, to_account, amount_micros, kind=TRANSFER_IN, reference=reference):
        raise ValueError(f"no account {to_account}")  # the caller's rollback undoes the debit
    return True


async def adjust(conn: AsyncConnection, account_id: int, amount_micros: int, reason: str) -> None:
    """An operator's manual correction (`dovecote accounts adjust`): signed, recorded as
    ADJUSTMENT with its reason. Taking more than the balance holds is refused."""
    if not reason.strip():
        raise InvalidInput("An adjustment needs a reason.", field="reason")
    if amount_micros >= 0:
        if not await credit(conn, account_id, amount_micros, kind=ADJUSTMENT, reference=reason):
            raise InvalidInput(f"No account {account_id}.", field="account")
    elif not await debit(conn, account_id, -amount_micros, kind=ADJUSTMENT, reference=reason):
        raise InvalidInput("The balance does not cover this adjustment.", field="amount")


async def entries(
    conn: AsyncConnection, account_id: int, *, limit: int = 100, before_id: int | None = None
) -> list[Entry]:
    """The account's entries, newest first."""
    query = (
        sa.select(ledger_entries)
        .where(ledger_entries.c.account_id == account_id)
        .order_by(ledger_entries.c.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(ledger_entries.c.id < before_id)
    return [Entry(**row) for row in (await conn.execute(query)).mappings()]


async def discrepancies(
    conn: AsyncConnection, account_ids: Sequence[int] | None = None
) -> dict[int, tuple[int, int]]:
    """Accounts whose balance differs from the sum of their entries: {id: (balance, Σ)}.
    Empty when the books are right (the invariant every test and `dovecote` check)."""
    sums = (
        sa.select(
            ledger_entries.c.account_id,
            sa.func.sum(ledger_entries.c.amount_micros).label("total"),
        )
        .group_by(ledger_entries.c.account_id)
        .subquery()
    )
    query = sa.select(
        accounts.c.id, accounts.c.balance_micros, sa.func.coalesce(sums.c.total, 0)
    ).select_from(accounts.outerjoin(sums, sums.c.account_id == accounts.c.id))
    if account_ids is not None:
        query = query.where(accounts.c.id.in_(list(account_ids)))
    return {int(i): (int(b), int(t)) for i, b, t in await conn.execute(query) if int(b) != int(t)}
