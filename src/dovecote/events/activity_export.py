"""Email Activity CSV exports: the background job that writes one, and where it lives.

An export is two files in `settings.activity_export_dir`: `<uuid>.json` (whose it is,
the query, its state) and, once written, `<uuid>.csv.gz`. The job streams: messages
are read 1,000 at a time (keyset pages) with their events, and each page is written
to the gzip file before the next is read, so memory does not grow with the export.
Files are written under a temporary name and renamed, so a reader never sees half.
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

# csv_cell defuses spreadsheet formulas (=, +, -, @) exactly as the SMS export does.
from dovecote.domain.history import csv_cell
from dovecote.events import query as ql
from dovecote.events.query.fields import EVENT_NAMES
from dovecote.settings import Settings
from dovecote.storage import activity as store

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

State = Literal["pending", "ready", "failed"]


@dataclass(frozen=True, slots=True)
class Export:
    uuid: str
    account_id: int
    user_id: int
    scope_user_id: int | None  # None: the whole account (main user)
    query: str | None
    since: float  # the history window's start when requested
    email: str
    created_at: float
    expires_at: float
    state: State = "pending"
    rows: int = 0


def export_dir(settings: Settings) -> Path:
    return Path(settings.activity_export_dir)


def canonical_uuid(value: str) -> str | None:
    """The UUID in canonical form, or None: never a path component from the outside."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def csv_path(settings: Settings, export_id: str) -> Path:
    return export_dir(settings) / f"{export_id}.csv.gz"


def _state_path(settings: Settings, export_id: str) -> Path:
    return export_dir(settings) / f"{export_id}.json"


def save(settings: Settings, export: Export) -> None:
    directory = export_dir(settings)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{export.uuid}.json.tmp"
    temporary.write_text(json.dumps(asdict(export)))
    os.replace(temporary, _state_path(settings, export.uuid))


def load(settings: Settings, export_id: str) -> Export | None:
    canonical = canonical_uuid(export_id)
    if canonical is None:
        return None
    try:
        return Export(**json.loads(_state_path(settings, canonical).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def new_export(
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
    moment = time.time() if now is None else now
    return Export(
        uuid=str(uuid.uuid4()),
        account_id=account_id,
        user_id=user_id,
        scope_user_id=scope_user_id,
        query=query,
        since=since,
        email=email,
        created_at=moment,
        expires_at=moment + ttl,
    )


async def write_csv(engine: AsyncEngine, settings: Settings, export: Export) -> Export:
    """Write the export's gzip CSV; return it marked ready (or failed) and saved."""
    scope = store.Window(export.account_id, export.scope_user_id, export.since)
    condition = None
    if export.query and export.query.strip():
        parsed = ql.parse(export.query)  # validated when requested; cannot fail here
        condition = ql.compile_filter(parsed, ql.Context(events_since=export.since))
    final = csv_path(settings, export.uuid)
    temporary = final.with_name(f".{final.name}.tmp")
    written = 0
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
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
                    if written >= MAX_ROWS:
                        break
        os.replace(temporary, final)
        done = replace(export, state="ready", rows=written)
    except Exception:
        log.exception("activity export %s failed", export.uuid)
        temporary.unlink(missing_ok=True)
        done = replace(export, state="failed")
    save(settings, done)
    return done


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


def purge_files(settings: Settings, *, now: float | None = None) -> int:
    """Delete exports whose link has expired; returns how many."""
    moment = time.time() if now is None else now
    directory = export_dir(settings)
    if not directory.is_dir():
        return 0
    removed = 0
    for state_file in directory.glob("*.json"):
        export = load(settings, state_file.stem)
        if export is None or export.expires_at > moment:
            continue
        csv_path(settings, export.uuid).unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)
        removed += 1
    return removed
