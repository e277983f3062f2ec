"""The contact-import job: workers claim queued imports (`pipeline/leases.claim`) and
read the stored file in batches.

Each batch is one transaction: its contacts, its refused rows, the import's counters and
`next_row` (how many records of the file are done) commit together, guarded by the
lease. A worker that dies loses only its uncommitted batch; the next worker skips the
first `next_row` records and carries on, so no row is imported twice and none is lost.
Reading and checking rows (CSV parsing, phone numbers) runs in a thread, off the event
loop the API and the dispatcher share. With `dedupe`, a row whose phone number (else
email, else fax) the list already holds — from before, or from an earlier row of the
same file — counts as a duplicate instead of being added.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import itertools
import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.accounts import store as account_store
from dovecote.contacts import import_store as jobs
from dovecote.contacts import readers, store
from dovecote.contacts.fields import InvalidContact
from dovecote.contacts.imports import MAX_REPORTED, contact_values, is_blank, is_header
from dovecote.core.errors import InvalidInput
from dovecote.files.store import FileMissing, FileStore
from dovecote.pipeline import leased, leases
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.settings import Settings

log = logging.getLogger("dovecote.contact_import")

BATCH: Final = 2_000
LEASE: Final = 120.0  # seconds; every committed batch extends it
MAX_ATTEMPTS: Final = 5
BACKOFF: Final = 10.0
INTERVAL: Final = 1.0
LOST: Final = "the worker importing this file stopped on its last attempt"
OWNER: Final = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseLost(Exception):
    """Another worker has taken the import over."""


@dataclass(slots=True)
class Batch:
    contacts: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    consumed: int = 0


def _read_batch(
    records: Iterator[tuple[int, list[str]]],
    order: Sequence[str | None],
    country: str,
    size: int,
) -> Batch:
    """The next `size` records, checked (runs in a thread)."""
    batch = Batch()
    for number, cells in itertools.islice(records, size):
        batch.consumed += 1
        if is_blank(cells) or (number == 1 and is_header(cells, order)):
            continue
        try:
            batch.contacts.append(contact_values(cells, order, country))
        except InvalidContact as exc:
            batch.refused.append((number, exc.message[:500]))
    return batch


async def run_due_imports(
    engine: AsyncEngine,
    files: FileStore,
    *,
    owner: str = OWNER,
    lease: float = LEASE,
    batch: int = BATCH,
    now: float | None = None,
) -> int:
    """Claim and run due imports one after another until none is due; returns how many."""

    async def any_due(conn: AsyncConnection, moment: float) -> bool:
        return await jobs.any_due(conn, now=moment)

    async def claim(conn: AsyncConnection, moment: float) -> list[RowMapping]:
        await jobs.give_up_exhausted(conn, now=moment, max_attempts=MAX_ATTEMPTS, error=LOST)
        return await jobs.claim(
            conn, owner=owner, now=moment, lease=lease, max_attempts=MAX_ATTEMPTS
        )

    async def work(row: RowMapping) -> None:
        await _run_one(engine, files, row, owner=owner, lease=lease, batch=batch)

    return await leased.drain(engine, any_due=any_due, claim=claim, work=work, now=now)


async def _run_one(
    engine: AsyncEngine,
    files: FileStore,
    row: RowMapping,
    *,
    owner: str,
    lease: float,
    batch: int,
) -> None:
    import_id = row["id"]
    try:
        async with files.local_copy(row["file_key"]) as path:
            await _import(engine, row, path, owner=owner, lease=lease, batch=batch)
    except LeaseLost:
        log.warning("contact import %s was taken over by another worker", import_id)
        return
    except asyncio.CancelledError:  # a graceful stop: hand the import back at once
        async with engine.begin() as conn:
            await jobs.release(conn, import_id, owner, now=time.time())
        raise
    except (FileMissing, InvalidInput, UnicodeDecodeError, csv.Error) as exc:
        if await _finish(engine, row, owner, jobs.FAILED, f"The file cannot be read: {exc}"):
            await _discard(files, row["file_key"])
        return
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if row["attempts"] >= MAX_ATTEMPTS:
            log.exception("contact import %s failed for good", import_id)
            if await _finish(engine, row, owner, jobs.FAILED, error):
                await _discard(files, row["file_key"])
        else:
            log.warning("contact import %s failed, retrying: %s", import_id, error)
            delay = BACKOFF * leases.backoff(2, row["attempts"] - 1)
            async with engine.begin() as conn:
                await jobs.retry_later(
                    conn, import_id, owner, due_at=time.time() + delay, error=error
                )
        return
    if await _finish(engine, row, owner, jobs.DONE, None):
        await _discard(files, row["file_key"])


async def _discard(files: FileStore, key: str) -> None:
    """The file of a finished import (done or failed for good) is not kept."""
    with contextlib.suppress(OSError):
        await files.delete(key)


async def _finish(
    engine: AsyncEngine, row: RowMapping, owner: str, status: str, error: str | None
) -> bool:
    async with engine.begin() as conn:
        return await jobs.finish(
            conn, row["id"], owner, status=status, now=time.time(), error=error
        )


async def _import(
    engine: AsyncEngine,
    row: RowMapping,
    path: Path,
    *,
    owner: str,
    lease: float,
    batch: int,
    stop_after: int | None = None,
) -> None:
    """Import the file's records from `next_row` on; `stop_after` batches, a worker that
    stops dead (tests use it to leave what a crash leaves)."""
    account_id, list_id = int(row["account_id"]), int(row["list_id"])
    async with engine.connect() as conn:
        account = await account_store.get_account(conn, account_id)
    country = account.country if account else "US"
    order: list[str | None] = list(row["field_order"])
    fmt = await asyncio.to_thread(readers.detect, path)
    done = int(row["next_row"])
    reported = min(int(row["refused"]), MAX_REPORTED)
    records = itertools.islice(enumerate(readers.rows(path, fmt), start=1), done, None)
    for _ in itertools.count() if stop_after is None else range(stop_after):
        chunk = await asyncio.to_thread(_read_batch, records, order, country, batch)
        if chunk.consumed == 0:
            return
        now = int(time.time())
        async with engine.begin() as conn:
            kept, duplicates = chunk.contacts, 0
            if row["dedupe"]:
                kept = await _unique(conn, account_id, list_id, chunk.contacts)
                duplicates = len(chunk.contacts) - len(kept)
            await store.insert_contacts(
                conn,
                [
                    {**values, "account_id": account_id, "list_id": list_id,
                     "created_at": now, "updated_at": now}
                    for values in kept
                ],
            )  # fmt: skip
            room = max(0, MAX_REPORTED - reported)
            await jobs.add_errors(
                conn,
                [
                    {"import_id": row["id"], "row_number": number, "reason": reason}
                    for number, reason in chunk.refused[:room]
                ],
            )
            done += chunk.consumed
            if not await jobs.checkpoint(
                conn,
                row["id"],
                owner,
                next_row=done,
                imported=len(kept),
                refused=len(chunk.refused),
                duplicates=duplicates,
                until=time.time() + lease,
            ):
                raise LeaseLost(row["id"])  # rolls this batch back
        reported += min(room, len(chunk.refused))


def _key(values: Mapping[str, Any]) -> tuple[str, str] | None:
    for column in ("phone_number", "email", "fax_number"):
        if values.get(column):
            return column, str(values[column])
    return None


async def _unique(
    conn: Any, account_id: int, list_id: int, contacts: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The contacts whose key the list does not hold yet, first occurrence in the batch."""
    by_column: dict[str, list[str]] = {}
    for values in contacts:
        key = _key(values)
        if key is not None:
            by_column.setdefault(key[0], []).append(key[1])
    existing = {
        (column, value)
        for column, values in by_column.items()
        for value in await store.values_in_list(conn, account_id, list_id, column, values)
    }
    kept = []
    for values in contacts:
        key = _key(values)
        if key is not None and key in existing:
            continue
        if key is not None:
            existing.add(key)
        kept.append(values)
    return kept


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`): imports read from
    the process's own store (`ctx.files`), where the API stored their files."""

    async def run(ctx: JobContext) -> int:
        return await run_due_imports(ctx.engine, ctx.files)

    return leased.TaskRunner("contact-imports", run).job(INTERVAL)
