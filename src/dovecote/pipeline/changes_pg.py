"""The change hub across processes, on PostgreSQL: NOTIFY in the writer's transaction,
one LISTEN connection per process that has listeners.

Publishing: the sink runs `pg_notify` inside the transaction that records the events.
PostgreSQL queues the notification and delivers it only if and when that transaction
commits, so a listener can never read a row before its commit and a rolled-back
transaction tells nobody: the guarantee the in-process hub gets from the pool's checkin,
with no connection of its own and no second round trip after the commit. It costs one
statement per `EventLog.record` (several changes per NOTIFY, see `encode`), and at
commit PostgreSQL takes a lock on its notification queue, which serialises the commits
of notifying transactions (bench/README.md, "Live changes", has the figures).

Nobody listening, nothing sent: before notifying, a writer asks whether any listening
connection of this database exists (`_ANYONE`: one cheap statement, no payload built,
no notification queue at commit — per 1,000 dispatched messages ~12 ms of the worker's
CPU and ~8 ms of PostgreSQL's). The answer must not go stale before the writer commits,
or a page that opened meanwhile would read the rows before that commit and never hear
of it. So a writer that decides not to notify holds a shared advisory lock until its
transaction ends, and a new listening connection, once LISTENing, takes the same lock
exclusively (and lets go at once) before it is ready: it waits for every writer that
saw nobody to commit. Writers only ever *try* the lock (failing, they notify), so they
never wait for a listener and cannot deadlock with one. A "yes" is kept for
`LISTENERS_SECONDS` (notifying when nobody listens any more is harmless).

Listening: the first `listen` in a process starts one task holding one dedicated asyncpg
connection (`LISTEN dovecote_changes`); each notification is decoded and fanned out to
the local listeners of its accounts, exactly as the in-process hub does. Processes that
never listen (a `dovecote worker`) never open it. When that connection is lost (the
server restarted, the backend was terminated, the network dropped), the task reconnects
with exponential backoff and, once listening again, sends every listener one `RESYNC`:
what was committed in the gap was told to nobody, so live pages re-read their current
state (the dashboard ends the stream; the browser reopens it and re-reads on open).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.pipeline.changes import Change, Changes
from dovecote.pipeline.events import Event

log = logging.getLogger("dovecote.changes")

CHANNEL = "dovecote_changes"
APPLICATION_NAME = "dovecote-changes"  # how the listening backend shows in pg_stat_activity
# PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; keep a margin.
PAYLOAD_BYTES = 7900
BACKOFF_FIRST = 0.1
BACKOFF_MAX = 5.0
# An idle connection whose peer vanished (no FIN: a network cut) is found by a ping.
PING_SECONDS = 30.0
# How long a new listener waits for the listening connection before it goes on anyway
# (it gets a `RESYNC` once the connection is up).
READY_SECONDS = 5.0

# Whether to notify: true if a listening connection of this database exists, or if
# the shared lock cannot be had (a listener is starting: notify to be safe). False
# holds the shared lock until the transaction ends (see the module's docstring).
LOCK_KEY = 0x646F7665636F7465  # "dovecote": the advisory lock between writers and listeners
LISTENERS_SECONDS = 1.0
_ANYONE = sa.text(
    "SELECT NOT pg_try_advisory_xact_lock_shared(:key) OR EXISTS (SELECT 1 FROM"
    " pg_stat_activity WHERE datname = current_database() AND application_name = :name)"
).bindparams(key=LOCK_KEY, name=APPLICATION_NAME)

# One round trip for all of a transaction's payloads (the channel is a constant).
_NOTIFY = sa.text(f"SELECT pg_notify('{CHANNEL}', p) FROM unnest(:payloads) AS p").bindparams(  # noqa: S608
    sa.bindparam("payloads", type_=postgresql.ARRAY(sa.Text))
)


def encode(changes: Sequence[Change]) -> list[str]:
    """The changes as few NOTIFY payloads as fit: JSON arrays of
    `[account_id, message_id, channel, type]`, each under `PAYLOAD_BYTES` (about 110
    changes of a 36-character message id each). One `json.dumps` per payload, not per
    change (a thousand calls were ~5 ms of a 1,000-message dispatcher pass): a chunk is
    sized from the bytes per change seen so far, and halved while it does not fit."""
    rows = [[c.account_id, c.message_id, c.channel, c.type] for c in changes]
    payloads: list[str] = []
    start, step = 0, 64
    while start < len(rows):
        chunk = rows[start : start + step]
        # ensure_ascii: bytes == characters, so the size check is a len()
        text = json.dumps(chunk, separators=(",", ":"), ensure_ascii=True)
        if len(text) >= PAYLOAD_BYTES and len(chunk) > 1:
            step = len(chunk) // 2
            continue
        payloads.append(text)  # a lone change too big for a payload goes as it is
        start += len(chunk)
        step = max(1, int(PAYLOAD_BYTES * 0.95 * len(chunk) / len(text)))
    return payloads


def decode(payload: str) -> list[Change]:
    return [Change(int(a), str(m), str(c), str(t)) for a, m, c, t in json.loads(payload)]


class PostgresChanges(Changes):
    def __init__(self, url: URL) -> None:
        super().__init__()
        # asyncpg speaks libpq's URL form: `postgresql://user:password@host:port/db`.
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.connections = 0  # listening connections opened so far (1 + reconnects)
        self._late = False  # a listener went on before the first connection was up
        self._heard_until = 0.0  # until then, notify without asking (someone listened)

    def attach(self, engine: AsyncEngine) -> None:
        """Nothing to hook: PostgreSQL itself holds the notes until the commit."""

    async def sink(self, conn: AsyncConnection, events: Sequence[Event]) -> None:
        if not events:
            return
        if time.monotonic() >= self._heard_until:
            if not (await conn.execute(_ANYONE)).scalar_one():
                return  # nobody listens, and nobody can start before this commits
            self._heard_until = time.monotonic() + LISTENERS_SECONDS
        changes = [Change(e.account_id, e.message_id, e.channel, e.type) for e in events]
        await conn.execute(_NOTIFY, {"payloads": encode(changes)})

    async def _listening(self) -> None:
        if self._task is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._listen_forever(), name="dovecote-changes")
        if not self._ready.is_set():
            try:
                await asyncio.wait_for(self._ready.wait(), READY_SECONDS)
            except TimeoutError:
                self._late = True
                log.warning("changes: not listening yet; live pages resync once it is")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _listen_forever(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            try:
                await self._listen_once()
                delay = BACKOFF_FIRST  # it was up: the next cut starts the backoff afresh
            except Exception as exc:  # whatever broke it, live pages need it back
                log.warning(
                    "changes: listening connection failed (%r); retry in %.1f s", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(
            self._dsn, server_settings={"application_name": APPLICATION_NAME}
        )
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._on_notification)
            # Wait for the writers that saw no listener to commit (they hold the lock
            # shared): what they wrote is then visible to whoever reads after `ready`.
            await conn.execute(f"SELECT pg_advisory_xact_lock({LOCK_KEY})")
            self.connections += 1
            if self.connections > 1 or self._late:
                self._late = False
                self.resync()  # whatever was committed while we were away: re-read
            self._ready.set()
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), PING_SECONDS)
                except TimeoutError:
                    await conn.execute("SELECT 1", timeout=PING_SECONDS)
            log.warning("changes: listening connection lost; reconnecting")
        finally:
            self._ready.clear()
            conn.terminate()

    def _on_notification(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        if not self._listeners:
            return  # nobody here watches any more: skip the decoding
        try:
            changes = decode(payload)
        except (ValueError, TypeError) as exc:  # not ours (a stray NOTIFY on the channel)
            log.warning("changes: ignored a payload that is not a change list: %s", exc)
            return
        self.publish(changes)


def for_engine(engine: AsyncEngine) -> Changes:
    """The hub for a process on `engine`: across processes on PostgreSQL, in-process on
    SQLite (a single process by construction)."""
    if engine.dialect.name == "postgresql":
        return PostgresChanges(engine.url)
    changes = Changes()
    changes.attach(engine)
    return changes
