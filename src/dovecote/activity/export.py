"""Email Activity CSV exports as durable worker jobs: the job that writes one, the signed
link that grants it, and the purge of expired ones.

`POST /v3/messages/download` only inserts a pending row into `activity_exports` (in the
request's transaction). Workers run `job()` from the maintenance loop: it claims due
rows with a lease (`activity/export_store.py`), writes the gzip CSV, then marks the
row ready and queues the email with the link in one transaction. A failure is retried
with backoff, at most `MAX_ATTEMPTS` attempts in all, then the row is `failed`; a worker
that dies mid-export lets its lease run out and another worker takes the row over.

The writer streams: messages are read 1,000 at a time (keyset pages) with their events,
and each page is written to the gzip file before the next is read, so memory does not
grow with the export. Only the CSV lives outside the database: it is written to a local
temporary file, then handed to the file store (`dovecote.files`) under
`activity-exports/<uuid>.csv.gz` — the local directory or an S3-compatible bucket, so
workers and API processes on several machines share it. A reader never sees half a file.
Exports written before the file store (a bare `<uuid>.csv.gz` in `file_path`) are still
read from, and purged in, `settings.activity_export_dir`.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import gzip
import html
import json
import logging
import os
import re
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.activity import export_store as jobs
from dovecote.activity import query as ql
from dovecote.activity import store
from dovecote.activity.query.fields import EVENT_NAMES
from dovecote.core import security

# csv_cell defuses spreadsheet formulas (=, +, -, @) exactly as the SMS export does.
from dovecote.core.csvfile import csv_cell
from dovecote.files.store import FileStore, LocalFileStore
from dovecote.pipeline import leased, leases
from dovecote.pipeline.jobs import JobContext, PeriodicJob
from dovecote.pipeline.system_mail import SystemMail
from dovecote.settings import Settings

log = logging.getLogger("dovecote.activity_export")

# SendGrid: "limited to the last 1 million events maximum".
MAX_ROWS = 1_000_000
CHUNK = 1_000
COLUMNS = (
    "msg_id", "from_email", "to_email", "subject", "status", "template_id", "asm_group_id",
    "teammate", "api_key_id", "originating_ip", "outbound_ip", "outbound_ip_type",
    "categories", "unique_args", "opens_count", "clicks_count", "last_event_time",
    "event_name", "processed", "reason", "attempt_num", "url", "bounce_type",
    "http_user_agent", "mx_server",
)  # fmt: skip
EVENT_DETAILS = ("reason", "attempt_num", "url", "bounce_type", "http_user_agent", "mx_server")

MAX_ATTEMPTS = 3
LEASE = 300.0  # seconds; renewed while the export is written, so only a dead worker loses it
BACKOFF = 30.0  # seconds before the second attempt, doubling after that
INTERVAL = 2.0  # seconds between the worker's looks for due exports
CLAIM = 1  # exports claimed at a time: one runs while the others stay claimable elsewhere
LOST = "the worker writing this export stopped on its last attempt"
# Who holds a lease: host, process and a random part, like the dispatcher's owner.
OWNER = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class LeaseLost(Exception):
    """Another worker has taken the export over (ours ran out of lease)."""


@dataclass(frozen=True, slots=True)
class Export:
    uuid: str
    account_id: int
    user_id: int
    scope_user_id: int | None  # None: the whole account (main user)
    query: str | None
    since: float  # the history window's start when requested
    email: str
    status: str
    attempts: int
    created_at: float
    expires_at: float
    row_count: int = 0
    file_path: str | None = None
    error: str | None = None

    @classmethod
    def of(cls, row: RowMapping) -> Export:
        return cls(
            uuid=row["id"],
            account_id=row["account_id"],
            user_id=row["user_id"],
            scope_user_id=row["scope_user_id"],
            query=row["query"],
            since=row["since"],
            email=row["email"],
            status=row["status"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            row_count=row["row_count"],
            file_path=row["file_path"],
            error=row["error"],
        )


def legacy_dir(settings: Settings) -> Path:
    """Where exports written before the file store keep their CSVs (bare file names)."""
    return Path(settings.activity_export_dir)


def canonical_uuid(value: str) -> str | None:
    """The UUID in canonical form, or None: never a path component from the outside."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def csv_name(export_id: str) -> str:
    return f"{export_id}.csv.gz"


def csv_key(export_id: str) -> str:
    """The export's key in the file store (what `file_path` holds once it is ready)."""
    return f"activity-exports/{csv_name(export_id)}"


def stored_at(files: FileStore, settings: Settings, file_path: str) -> tuple[FileStore, str]:
    """The store and key holding a ready export's CSV: `files` (the process's store) for
    a key, the legacy directory for the bare file name of an export written before it."""
    if "/" in file_path:
        return files, file_path
    # Always a local directory, whatever the file store is: only a Dovecote from before
    # the file store wrote there. Built per legacy file, which costs nothing (no client).
    return LocalFileStore(legacy_dir(settings)), Path(file_path).name


async def request(
    conn: AsyncConnection,
    *,
    account_id: int,
    user_id: int,
    scope_user_id: int | None,
    query: str | None,
    since: float,
    email: str,
    ttl: int,
    now: float | None = None,
) -> Export:
    """Queue an export (pending, due now) in the caller's transaction."""
    moment = time.time() if now is None else now
    export = Export(
        uuid=str(uuid.uuid4()),
        account_id=account_id,
        user_id=user_id,
        scope_user_id=scope_user_id,
        query=query,
        since=since,
        email=email,
        status=jobs.PENDING,
        attempts=0,
        created_at=moment,
        expires_at=moment + ttl,
    )
    await jobs.insert(
        conn,
        {
            "id": export.uuid,
            "account_id": account_id,
            "user_id": user_id,
            "scope_user_id": scope_user_id,
            "query": query,
            "since": since,
            "email": email,
            "due_at": moment,
            "created_at": moment,
            "expires_at": export.expires_at,
        },
    )
    return export


async def load(conn: AsyncConnection, export_id: str) -> Export | None:
    canonical = canonical_uuid(export_id)
    if canonical is None:
        return None
    row = await jobs.get(conn, canonical)
    return None if row is None else Export.of(row)


def _signed(export_id: str) -> str:
    return f"email-activity-csv:{export_id}"


def presigned_url(settings: Settings, export: Export, base_url: str | None = None) -> str:
    """The signed download link, on `base_url` (the asking request's) or the mailed base."""
    expires = int(export.expires_at)
    signature = security.sign(settings.secret_key, _signed(export.uuid), expires)
    query = urlencode({"expires": expires, "signature": signature})
    base = base_url or settings.public_base()
    return f"{base.rstrip('/')}/v3/messages/download/{export.uuid}/csv?{query}"


def signature_valid(settings: Settings, export: Export, expires: str, signature: str) -> bool:
    try:
        expires_at = int(expires)
    except ValueError:
        return False
    return security.verify_signature(
        settings.secret_key, _signed(export.uuid), expires_at, signature
    )


# --- the job ------------------------------------------------------------------------------


async def run_due_exports(
    engine: AsyncEngine,
    settings: Settings,
    mail: SystemMail,
    files: FileStore,
    *,
    owner: str = OWNER,
    lease: float = LEASE,
    now: float | None = None,
) -> int:
    """Claim and write due exports one after another until none is due; returns how many
    were claimed. Safe to run from many workers at once. `files`: the store the CSVs go
    to, the process's own (`JobContext.files`), which the API serves them from."""
    claimed = 0
    while True:
        moment = time.time() if now is None else now
        # A read first: the common answer is "nothing due", and it takes no write lock
        # (SQLite has one writer, which the message dispatcher needs far more often).
        async with engine.connect() as conn:
            if not await jobs.any_due(conn, now=moment):
                return claimed
        async with engine.begin() as conn:
            await jobs.give_up_exhausted(conn, now=moment, max_attempts=MAX_ATTEMPTS, error=LOST)
            rows = await jobs.claim(
                conn,
                owner=owner,
                now=moment,
                lease=lease,
                limit=CLAIM,
                max_attempts=MAX_ATTEMPTS,
            )
        if not rows:
            return claimed
        for row in rows:
            claimed += 1
            await _run_one(engine, settings, mail, files, Export.of(row), owner, lease, moment)


async def _run_one(
    engine: AsyncEngine,
    settings: Settings,
    mail: SystemMail,
    files: FileStore,
    export: Export,
    owner: str,
    lease: float,
    claimed_at: float,
) -> None:
    renew_at = time.time() + lease / 2

    async def keep_lease() -> None:
        nonlocal renew_at
        if time.time() < renew_at:
            return
        async with engine.begin() as conn:
            if not await jobs.renew(conn, export.uuid, owner, time.time() + lease):
                raise LeaseLost(export.uuid)
        renew_at = time.time() + lease / 2

    try:
        rows = await write_csv(engine, files, export, keep_lease=keep_lease)
    except LeaseLost:
        log.warning("activity export %s was taken over by another worker", export.uuid)
        return
    except asyncio.CancelledError:  # a graceful stop: hand the export back at once
        async with engine.begin() as conn:
            await jobs.release(conn, export.uuid, owner, now=time.time())
        raise
    except Exception as exc:
        await _failed(engine, export, owner, exc, claimed_at)
        return
    await _finish(engine, settings, mail, export, owner, rows)


async def _failed(
    engine: AsyncEngine, export: Export, owner: str, exc: Exception, claimed_at: float
) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    moment = max(time.time(), claimed_at)  # never due again before the claim's own clock
    async with engine.begin() as conn:
        if export.attempts >= MAX_ATTEMPTS:
            log.exception("activity export %s failed for good", export.uuid, exc_info=exc)
            await jobs.mark_failed(conn, export.uuid, owner, now=moment, error=error)
        else:
            delay = BACKOFF * leases.backoff(2, export.attempts - 1)
            log.warning(
                "activity export %s failed (attempt %d), retrying in %.0f s: %s",
                export.uuid, export.attempts, delay, error,
            )  # fmt: skip
            await jobs.retry_later(conn, export.uuid, owner, due_at=moment + delay, error=error)


async def _finish(
    engine: AsyncEngine, settings: Settings, mail: SystemMail, export: Export, owner: str, rows: int
) -> None:
    """Mark the export ready and queue the email with its link in one transaction, so the
    link is mailed exactly when the export becomes ready; if the email cannot be queued
    (a bad address, say), the export is still marked ready: it stays downloadable by id."""
    moment = time.time()
    ready = replace(
        export,
        status=jobs.READY,
        row_count=rows,
        file_path=csv_key(export.uuid),
        # The link works for the full period from the moment it is mailed.
        expires_at=moment + settings.export_link_ttl,
    )

    async def mark(conn: AsyncConnection) -> bool:
        return await jobs.mark_ready(
            conn,
            export.uuid,
            owner,
            file_path=csv_key(export.uuid),
            row_count=rows,
            now=moment,
            expires_at=ready.expires_at,
        )

    try:
        async with engine.begin() as conn:
            if await mark(conn) and ready.email:
                await _mail_link(conn, settings, mail, ready)
            return
    except Exception:
        log.exception("could not mail the link of activity export %s", export.uuid)
    async with engine.begin() as conn:
        await mark(conn)


async def _mail_link(
    conn: AsyncConnection, settings: Settings, mail: SystemMail, done: Export
) -> None:
    """The link goes through Dovecote's own email pipeline (free system mail)."""
    link = presigned_url(settings, done)
    await mail.send(
        conn,
        account_id=done.account_id,
        user_id=done.user_id,
        to=done.email,
        subject="Your Email Activity CSV is ready",
        html=(
            f"<p>Your Email Activity export ({done.row_count} rows) is ready.</p>"
            f'<p><a href="{html.escape(link)}">Download the CSV</a> '
            "(the link works for 3 days).</p>"
            f"<p>Download id: {done.uuid}</p>"
        ),
        text=f"Your Email Activity export is ready: {link}\nDownload id: {done.uuid}\n",
        by_account=False,  # the platform's own mail: mailed even to an account now refused
    )


async def write_csv(
    engine: AsyncEngine,
    files: FileStore,
    export: Export,
    *,
    keep_lease: Callable[[], Awaitable[None]] | None = None,
) -> int:
    """Write the export's gzip CSV and store it under `csv_key`; returns its row count.
    `keep_lease` is awaited after every page (it renews the lease, or raises when it was
    lost)."""
    scope = store.Window(export.account_id, export.scope_user_id, export.since)
    condition = None
    if export.query and export.query.strip():
        parsed = ql.parse(export.query)  # validated when requested
        condition = ql.compile_filter(parsed, ql.Context(events_since=export.since))
    # Unique per attempt: a worker that only seemed dead never writes into another's file.
    handle_, name = tempfile.mkstemp(prefix="dovecote-activity-", suffix=".csv.gz")
    os.close(handle_)
    temporary = Path(name)
    written = 0
    try:
        with gzip.open(temporary, "wt", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            async with engine.connect() as conn:
                async for messages in store.stream_messages(conn, scope, condition, chunk=CHUNK):
                    events = await store.message_events(
                        conn, scope, [m["message_id"] for m in messages]
                    )
                    lines = list(_lines(messages, events))[: MAX_ROWS - written]
                    # File writes and compression off the event loop.
                    await asyncio.to_thread(_write, writer, handle, lines)
                    written += len(lines)
                    if keep_lease is not None:
                        await keep_lease()
                    if written >= MAX_ROWS:
                        break
        # The store takes the file over (a rename for the local directory, an upload
        # for S3); it is replaced whole, so a reader never sees a part of it.
        await files.put_file(csv_key(export.uuid), temporary, "application/gzip")
    finally:
        await asyncio.to_thread(temporary.unlink, missing_ok=True)
    return written


def _write(writer: Any, handle: IO[str], lines: list[list[str]]) -> None:
    writer.writerows(lines)
    handle.flush()


def _lines(messages: Sequence[RowMapping], events: Sequence[RowMapping]) -> Iterable[list[str]]:
    """One line per event (a message without events in the window: one line, no event)."""
    by_message: dict[str, list[RowMapping]] = {}
    for event in events:
        by_message.setdefault(event["message_id"], []).append(event)
    for m in messages:
        head = [
            m["message_id"], m["from_email"], m["to_email"], m["subject"], m["status"],
            m["template_id"], m["asm_group_id"], m["teammate"], m["api_key_id"],
            m["originating_ip"], m["outbound_ip"], m["outbound_ip_type"],
            ";".join(m["categories"] or ()), json.dumps(m["unique_args"] or {}),
            m["opens_count"], m["clicks_count"], _iso(m["last_event_time"]),
        ]  # fmt: skip
        tails: list[list[Any]] = [
            [
                EVENT_NAMES[event["type"]],
                _iso(event["occurred_at"]),
                *((event["data"] or {}).get(key) for key in EVENT_DETAILS),
            ]
            for event in by_message.get(m["message_id"], ())
        ] or [[None] * 8]
        for tail in tails:
            yield [csv_cell(value) for value in (*head, *tail)]


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# --- the worker hook and retention ---------------------------------------------------------


def job(settings: Settings) -> PeriodicJob:
    """The worker's periodic hook (listed in `dovecote.wiring.JOBS`), run as a task of its
    own; on worker stop an export in hand is handed back (see `_run_one`)."""

    async def run(ctx: JobContext) -> int:
        return await run_due_exports(ctx.engine, ctx.settings, ctx.system_mail, ctx.files)

    return leased.TaskRunner("email-activity-exports", run).job(INTERVAL)


async def purge_expired(
    engine: AsyncEngine,
    settings: Settings,
    files: FileStore,
    *,
    now: float | None = None,
    batch: int = 500,
) -> int:
    """Delete exports whose link has expired, their CSVs first; returns how many rows.

    Then sweep the legacy directory of files older than a link's lifetime that no row
    accounts for: what Dovecote wrote there before the file store (CSVs, temporary files
    of workers that died, the JSON state files of Dovecote before 0006).
    """
    moment = time.time() if now is None else now
    removed = 0
    while True:
        async with engine.connect() as conn:
            rows = await jobs.expired(conn, now=moment, limit=batch)
        if not rows:
            break
        for row in rows:
            # By id too: a failed or unfinished export has no `file_path` but may have
            # left a file (a worker that died between storing it and marking it ready).
            for path in {row["file_path"] or csv_key(row["id"]), csv_key(row["id"])}:
                where, key = stored_at(files, settings, path)
                await where.delete(key)
        async with engine.begin() as conn:
            removed += await jobs.delete(conn, [r["id"] for r in rows], now=moment)
        if len(rows) < batch:
            break
    await asyncio.to_thread(_sweep, settings, moment - settings.export_link_ttl)
    return removed


# `<uuid>.csv.gz`, its temporaries `.<uuid>.csv.gz.<hex>.tmp`, and the state files of
# Dovecote before migration 0006: `<uuid>.json`, `.<uuid>.json.tmp`.
_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_OURS = re.compile(rf"{_UUID}\.(csv\.gz|json)|\.{_UUID}\.(csv\.gz\.[0-9a-f]+|json)\.tmp")


def _sweep(settings: Settings, before: float) -> None:
    # A ready CSV's file is written before its row's `expires_at` is set to finish + TTL,
    # so any file last modified before `now - TTL` belongs to an expired export.
    directory = legacy_dir(settings)
    if not directory.is_dir():
        return
    for path in directory.iterdir():
        if not _OURS.fullmatch(path.name):  # never touch files this code did not write
            continue
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_mtime < before:
                path.unlink()
