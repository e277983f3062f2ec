"""Per-connector health, shared by every worker: consecutive failed hand-overs put a
connector down for a cool-down, and every worker then skips it.

A connector is judged per hand-over (one batch to it), not per message: one dead port
refusing a batch of 100 is one failure. After `threshold` failures in a row it is down
for `cooldown` seconds, and routes skip it; after that it is tried again, and one good
hand-over brings it back up.

The state is a row of `connector_health` per connector, so that the workers agree: a
failure is one atomic UPDATE (the count, and the cool-down once the count reaches the
threshold, are computed by the database, so two workers failing at once count twice and
put it down once). A worker reads every row at most every `DOVECOTE_ROUTING_REFRESH_SECONDS`
(with the routing table), so a connector put down by one worker is skipped by the others
within that interval. Writes are kept off the per-message path: a good hand-over writes
only when this worker's view shows failures to clear (the state changes), and outcome
counters are summed in memory and flushed with each refresh (one UPDATE per connector
that had traffic). A success another worker's failure raced is at worst one failure
short of the threshold, which the next failure corrects.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.storage.tables import connector_health as table

log = logging.getLogger("dovecote.routing")

OUTCOMES = ("sent", "delivered", "failed", "expired", "deferred")


@dataclass(frozen=True, slots=True)
class Health:
    """A connector's health as the database holds it."""

    failures: int = 0  # consecutive failed hand-overs
    down_until: float = 0.0  # Unix time; up from then on
    downs: int = 0  # cool-downs begun, all time
    last_error: str = ""
    last_failure_at: float | None = None
    counts: Mapping[str, int] = field(default_factory=dict)  # outcome → messages

    def up(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.down_until

    def public(self, now: float | None = None) -> dict[str, Any]:
        """What the CLI and `/dovecote/connectors` show (Unix seconds, as ClickSend's)."""
        up = self.up(now)
        return {
            "up": up,
            "down_until": None if up else int(self.down_until),
            "consecutive_failures": self.failures,
            "downs": self.downs,
            "last_error": self.last_error or None,
            "last_failure_at": None if self.last_failure_at is None else int(self.last_failure_at),
            "messages": {kind: int(self.counts.get(kind, 0)) for kind in OUTCOMES},
        }


def _health(row: Any) -> Health:
    return Health(
        failures=int(row.failures),
        down_until=float(row.down_until),
        downs=int(row.downs),
        last_error=str(row.last_error),
        last_failure_at=None if row.last_failure_at is None else float(row.last_failure_at),
        counts={kind: int(getattr(row, kind)) for kind in OUTCOMES},
    )


async def read(conn: AsyncConnection) -> dict[str, Health]:
    """Every connector's health (a connector never judged has no row: it is up)."""
    return {str(row.connector): _health(row) for row in await conn.execute(sa.select(table))}


async def _ensure(conn: AsyncConnection, names: list[str]) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table).on_conflict_do_nothing()
    await conn.execute(insert, [{"connector": name} for name in names])


async def failed(
    conn: AsyncConnection,
    name: str,
    reason: str,
    *,
    threshold: int,
    cooldown: float,
    now: float | None = None,
) -> Health:
    """Count one failed hand-over, atomically across workers; the row after it."""
    moment = time.time() if now is None else now
    await _ensure(conn, [name])
    reached = table.c.failures + 1 >= threshold
    row = (
        await conn.execute(
            table.update()
            .where(table.c.connector == name)
            .values(
                failures=sa.case((reached, 0), else_=table.c.failures + 1),
                down_until=sa.case((reached, moment + cooldown), else_=table.c.down_until),
                downs=table.c.downs + sa.case((reached, 1), else_=0),
                last_error=reason[:500],
                last_failure_at=moment,
            )
            .returning(*table.c)
        )
    ).one()
    return _health(row)


async def succeeded(conn: AsyncConnection, name: str) -> None:
    """A good hand-over: no failures in a row, not down."""
    await conn.execute(
        table.update().where(table.c.connector == name).values(failures=0, down_until=0.0)
    )


async def add_counts(conn: AsyncConnection, counts: Mapping[str, Mapping[str, int]]) -> None:
    """Add `connector → outcome → messages` to the counters: one UPDATE per connector."""
    if not counts:
        return
    await _ensure(conn, list(counts))
    values = {kind: getattr(table.c, kind) + sa.bindparam(f"n_{kind}") for kind in OUTCOMES}
    await conn.execute(
        table.update().where(table.c.connector == sa.bindparam("name")).values(values),
        [
            {"name": name, **{f"n_{kind}": int(by_kind.get(kind, 0)) for kind in OUTCOMES}}
            for name, by_kind in counts.items()
        ],
    )


class Board:
    """One worker's view of every connector's health, and its unflushed counters."""

    def __init__(
        self, engine: AsyncEngine, threshold: int, cooldown: float, refresh: float = 1.0
    ) -> None:
        self.engine = engine
        self.threshold = threshold
        self.cooldown = cooldown
        self.refresh_every = refresh
        self.view: dict[str, Health] = {}
        self.pending: dict[str, dict[str, int]] = {}
        self.writes = 0  # statements that wrote health (for tests and the benchmark)
        self._read_at: float | None = None

    def of(self, name: str) -> Health:
        return self.view.get(name) or Health()

    # Health is advice: a database error writing or reading it is logged and the hand-over
    # goes on. Letting it escape would fail a batch a connector may already have accepted,
    # before its acceptance is recorded — and the retry would send those messages twice.

    async def refresh(self, *, force: bool = False) -> None:
        """Flush the counters and read every row, at most every `refresh` seconds."""
        now = time.monotonic()
        if not force and self._read_at is not None and now - self._read_at < self.refresh_every:
            return
        self._read_at = now
        pending, self.pending = self.pending, {}
        try:
            async with self.engine.begin() as conn:
                await self._flush(conn, pending)
                self.view = await read(conn)
        except (SQLAlchemyError, OSError) as exc:
            self._keep(pending)
            log.warning("connector health not refreshed: %s", exc)

    async def flush(self) -> None:
        pending, self.pending = self.pending, {}
        if not pending:
            return
        try:
            async with self.engine.begin() as conn:
                await self._flush(conn, pending)
        except (SQLAlchemyError, OSError) as exc:
            self._keep(pending)
            log.warning("connector counters not flushed: %s", exc)

    async def _flush(self, conn: AsyncConnection, pending: dict[str, dict[str, int]]) -> None:
        if pending:
            await add_counts(conn, pending)
            self.writes += 1

    def _keep(self, pending: dict[str, dict[str, int]]) -> None:
        """Counts a failed flush did not write wait for the next one."""
        for name, by_kind in pending.items():
            for kind, number in by_kind.items():
                self.count(name, kind, number)

    async def failed(self, name: str, reason: str) -> bool:
        """Count one failed hand-over; True when it put the connector down."""
        try:
            async with self.engine.begin() as conn:
                health = await failed(
                    conn, name, reason, threshold=self.threshold, cooldown=self.cooldown
                )
        except (SQLAlchemyError, OSError) as exc:
            log.warning("connector %s: failure not recorded: %s", name, exc)
            return False
        self.writes += 1
        self.view[name] = health
        # Only the failure that reached the threshold leaves the count at 0.
        return health.failures == 0

    async def succeeded(self, name: str) -> None:
        """Clear the failures this worker knows of; nothing to write when there are none."""
        known = self.of(name)
        if known.failures == 0 and known.down_until == 0.0:
            return
        try:
            async with self.engine.begin() as conn:
                await succeeded(conn, name)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("connector %s: recovery not recorded: %s", name, exc)
            return
        self.writes += 1
        self.view[name] = dataclasses.replace(known, failures=0, down_until=0.0)

    def count(self, name: str, kind: str, number: int = 1) -> None:
        by_kind = self.pending.setdefault(name, {})
        by_kind[kind] = by_kind.get(kind, 0) + number
