"""Periodic jobs: the type every worker runs on a timer (retention purges, CSV exports).

Each job is idempotent and safe to run from several workers at once (a purge deletes
what is already expired; running it twice deletes nothing more), so no leader election
is needed. The list of jobs is `dovecote.wiring.JOBS`; this module only defines the type,
so job modules import it without importing each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.files.store import FileStore
from dovecote.pipeline.events import EventLog
from dovecote.pipeline.system_mail import SystemMail
from dovecote.settings import Settings


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a periodic job may use: the database, settings, the event log, system mail,
    the file store. The process's own (`Runtime.files`): an S3 store builds a client, so
    a job that opened one per run paid for a client each run."""

    engine: AsyncEngine
    settings: Settings
    events: EventLog
    system_mail: SystemMail
    files: FileStore


JobFunction = Callable[[JobContext], Awaitable[object]]
CloseFunction = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    interval: float  # seconds between runs
    run: JobFunction
    # Awaited when the worker stops: a job that keeps work running between calls (the
    # CSV exports) hands it back here.
    close: CloseFunction | None = None


JobFactory = Callable[[Settings], PeriodicJob]
