"""Periodic jobs run by every worker: retention purges, Email Activity CSV exports.

Each job is idempotent and safe to run from several workers at once (a purge deletes
what is already expired; running it twice deletes nothing more), so no leader election
is needed. Register new jobs in `build_jobs`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.settings import Settings

JobFunction = Callable[[AsyncEngine, Settings], Awaitable[object]]
CloseFunction = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class MaintenanceJob:
    name: str
    interval: float  # seconds between runs
    run: JobFunction
    # Awaited when the worker stops: a job that keeps work running between calls (the
    # CSV exports) hands it back here.
    close: CloseFunction | None = None


def build_jobs(settings: Settings) -> list[MaintenanceJob]:
    # Imported here: job modules import MaintenanceJob from this one.
    from dovecote.activity import export as activity_export
    from dovecote.activity import retention

    return [retention.job(settings), activity_export.job(settings)]
