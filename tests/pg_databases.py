"""PostgreSQL test databases: copied from the session's migrated template, reset for reuse.

Every PostgreSQL test gets a database whose schema and rows are the template's. Copying
one (`CREATE DATABASE … TEMPLATE`, ~0.1 s) is cheap; dropping one is not: `DROP DATABASE`
forces a checkpoint, 0.7–1.6 s on the shared 2-core machine, which also writes out what
the other xdist worker's test has just written and makes its next writes log whole pages
again. Dropped after every test, that was most of a PostgreSQL test's time (setup waited
~1.3 s for its database, the test itself ran ~0.3 s). So a used database is reset in
place instead, in a background thread while the next test runs on another one:

1. connections still open in it are terminated (a server thread that did not stop);
2. its catalogs must be the template's, row for row (`xmin` included: any DDL, even one
   undone, writes new catalog rows): a test that migrated, dropped or truncated a
   table gets its database dropped and replaced by a fresh copy, as before;
3. every table that has pages (the template's are empty but `alembic_version`, whose
   rows must be unchanged) is emptied with DELETE, foreign keys and triggers off
   (`session_replication_role = replica`: every table written to is emptied anyway),
   then VACUUMed, which cuts it back to zero pages: the next test's rows land in the
   same places, and come back in the same order, as in a fresh copy;
4. each sequence gets the template's value back (`setval`);
5. it is checked: every relation empty in the template has zero pages again; if not, a
   fresh copy replaces it.

~20–50 ms a test instead of ~1 s. What a test could see differ from a fresh copy: the
planner's statistics of the tables the previous test wrote to (VACUUM records them as
empty, where a copy has never been vacuumed) and the size of their indexes (emptied,
not shrunk) — what any production database that has been vacuumed looks like.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.pool import NullPool

PG_ADMIN_URL = os.environ.get(
    "DOVECOTE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)

# Objects created after initdb, i.e. the schema's (PostgreSQL's FirstNormalObjectId).
_FIRST_USER_OID = 16384

# Every catalog row DDL writes, by its key and transaction: equal only if no DDL ran.
_CATALOG = """
SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
  SELECT 'c' || oid || ':' || xmin AS x FROM pg_class
  UNION ALL SELECT 'a' || attrelid || '.' || attnum || ':' || xmin FROM pg_attribute
  UNION ALL SELECT 'n' || oid || ':' || xmin FROM pg_namespace
  UNION ALL SELECT 'k' || oid || ':' || xmin FROM pg_constraint
  UNION ALL SELECT 't' || oid || ':' || xmin FROM pg_type
  UNION ALL SELECT 'p' || oid || ':' || xmin FROM pg_proc
  UNION ALL SELECT 'g' || oid || ':' || xmin FROM pg_trigger
  UNION ALL SELECT 'i' || indexrelid || ':' || xmin FROM pg_index
  UNION ALL SELECT 'd' || oid || ':' || xmin FROM pg_attrdef
  UNION ALL SELECT 'e' || oid || ':' || xmin FROM pg_enum
  UNION ALL SELECT 'r' || oid || ':' || xmin FROM pg_rewrite
  UNION ALL SELECT 's' || seqrelid || ':' || xmin FROM pg_sequence
  UNION ALL SELECT 'x' || oid || ':' || xmin FROM pg_extension
  UNION ALL SELECT 'o' || oid || ':' || xmin FROM pg_policy
) AS catalog
"""
_SIZES = f"""
SELECT c.oid::regclass::text, c.relkind::text, pg_relation_size(c.oid)
FROM pg_class c WHERE c.oid >= {_FIRST_USER_OID} AND c.relkind IN ('r', 't', 'm', 'S')
"""  # noqa: S608 (a constant)


def pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def pg_admin(*statements: str) -> None:
    """Run statements on the PostgreSQL server outside a transaction (CREATE DATABASE)."""
    engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            for sql in statements:
                await conn.execute(sa.text(sql))
    finally:
        await engine.dispose()


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


@dataclass(frozen=True)
class _State:
    """What a database must look like to be handed out: the template's."""

    catalog: str
    sizes: dict[str, int]  # user tables (and their TOAST tables): pages in bytes
    rows: dict[str, str]  # tables with rows in the template: a digest of them
    sequences: dict[str, tuple[int, bool]]  # last_value, is_called

    @staticmethod
    async def read(
        conn: AsyncConnection, template: _State | None = None, *, catalog: str | None = None
    ) -> _State:
        """The state of the database `conn` is on; the rows of the tables the template
        has rows in (the template's own, when `template` is None). `catalog` skips
        reading the catalogs (~10 ms) when no DDL can have run since they were read."""
        catalog = catalog or (await conn.execute(sa.text(_CATALOG))).scalar_one()
        sizes: dict[str, int] = {}
        names: list[str] = []
        for name, kind, size in await conn.execute(sa.text(_SIZES)):
            if kind == "S":
                names.append(name)
            else:
                sizes[name] = size
        sequences: dict[str, tuple[int, bool]] = {}
        if names:  # names from pg_class, here and in _digest
            query = " UNION ALL ".join(
                f"SELECT '{name}', last_value, is_called FROM {name}"  # noqa: S608
                for name in names
            )
            for name, last, called in await conn.execute(sa.text(query)):
                sequences[name] = (last, called)
        filled = template.rows if template else [name for name, size in sizes.items() if size]
        rows = {name: await _digest(conn, name) for name in filled}
        return _State(catalog, sizes, rows, sequences)


async def _digest(conn: AsyncConnection, table: str) -> str:
    query = f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} AS t"  # noqa: S608
    return str((await conn.execute(sa.text(query))).scalar_one())


class PgDatabases:
    """Databases equal to the template, one ready ahead, reset after use (see above).

    `take` hands out a ready database (making a copy only when none is); `give_back`
    queues its reset on the background thread. Two per xdist worker are enough: one in
    use, the other being reset.
    """

    def __init__(self, template: str) -> None:
        self._template = template
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-databases")
        self._state: Future[_State] = self._pool.submit(_run, self._read_template())
        self._ready: deque[Future[str]] = deque(self._pool.submit(self._create) for _ in range(2))

    async def _read_template(self) -> _State:
        engine = create_async_engine(pg_url(self._template), poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                return await _State.read(conn)
        finally:
            await engine.dispose()  # a template with a connection open cannot be copied

    def _create(self) -> str:
        name = f"dovecote_t_{uuid.uuid4().hex[:12]}"
        # Commits in test databases do not wait for the WAL to reach the disk (~3 ms each
        # here): what a test sees is the same, only a crash of PostgreSQL itself could lose
        # them. (A database setting is not copied from its template, so it is set per copy.)
        _run(
            pg_admin(
                f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"',
                f'ALTER DATABASE "{name}" SET synchronous_commit = off',
            )
        )
        return name

    def _reset_or_replace(self, name: str) -> str:
        try:
            reset = _run(self._reset(name))
        except sa.exc.DBAPIError:  # a relation DELETE cannot empty, say: not restorable
            reset = False
        if reset:
            return name
        _run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return self._create()

    async def _reset(self, name: str) -> bool:
        template = self._state.result()
        engine = create_async_engine(pg_url(name), isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            async with engine.connect() as conn:
                await conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
                used = await _State.read(conn, template)
                if used.catalog != template.catalog or used.rows != template.rows:
                    return False
                written = [t for t, size in used.sizes.items() if size != template.sizes.get(t)]
                if any(template.sizes.get(t) for t in written):
                    return False  # a table the template has rows in: cannot be restored
                tables = [t for t in written if not t.startswith("pg_toast.")]
                if tables:
                    await conn.execute(sa.text("SET session_replication_role = replica"))
                    for table in tables:
                        await conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608
                    await conn.execute(sa.text(f"VACUUM {', '.join(tables)}"))
                for sequence, (last, called) in template.sequences.items():
                    if used.sequences.get(sequence) != (last, called):
                        await conn.execute(
                            sa.text("SELECT setval(:s, :v, :c)"),
                            {"s": sequence, "v": last, "c": called},
                        )
                # DELETE, VACUUM and setval write no catalog rows
                return await _State.read(conn, template, catalog=used.catalog) == template
        finally:
            await engine.dispose()

    def take(self) -> str:
        if not self._ready:
            self._ready.append(self._pool.submit(self._create))
        return self._ready.popleft().result()

    def give_back(self, name: str) -> None:
        self._ready.append(self._pool.submit(self._reset_or_replace, name))

    def close(self) -> None:
        names = [future.result() for future in self._ready]
        for name in names:
            self._pool.submit(_run, pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._pool.shutdown(wait=True)
