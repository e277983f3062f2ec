"""Statements over a whole batch of rows that cost one round trip and one execution.

On PostgreSQL an executemany is one round trip but N executions (a Bind/Execute per
row), and a long `IN (…)` list is rendered afresh by SQLAlchemy on every call (~1,000
bound parameters) and parsed afresh by PostgreSQL. Here a batch travels as one array
per column instead: `= ANY($1)` for a set of keys, `unnest($1, $2, …)` for the rows to
insert or update. Per 1,000 dispatched messages that took the worker's CPU from ~100 to
~55 ms and the database's from ~130 to ~80 ms (bench/README.md, "Dispatcher on
PostgreSQL"). SQLite keeps the plain statements: its executemany is a loop in C.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

# The dialect that renders a column's type as PostgreSQL spells it (for the array casts).
_PG = postgresql.dialect()  # type: ignore[no-untyped-call]


def any_of(
    column: sa.ColumnElement[Any], values: Collection[Any], dialect: str
) -> sa.ColumnElement[bool]:
    """`column IN values`: one array parameter on PostgreSQL (one statement text
    whatever the count, so it is compiled and prepared once)."""
    if dialect == "postgresql":
        return column == sa.any_(
            sa.bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        )
    return column.in_(list(values))


def _cast(column: sa.Column[Any]) -> tuple[str, str]:
    """(array type to send, expression to read one element back as the column's type)."""
    if isinstance(column.type, sa.JSON):
        return "text[]", "::json"  # sent as JSON text: asyncpg has no json[] codec
    return f"{column.type.compile(dialect=_PG)}[]", ""


def _array(column: sa.Column[Any], values: list[Any]) -> list[Any]:
    if isinstance(column.type, sa.JSON):
        # As SQLAlchemy's JSON type: None is JSON `null`, not SQL NULL.
        return [json.dumps(value) for value in values]
    return values


async def insert_rows(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """INSERT the rows (all with the same keys): one `INSERT … SELECT FROM unnest` on
    PostgreSQL, one executemany elsewhere."""
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        await conn.execute(table.insert(), [dict(row) for row in rows])
        return
    names = list(rows[0])
    casts = [_cast(table.c[name]) for name in names]
    arrays = ", ".join(f"${i}::{kind}" for i, (kind, _) in enumerate(casts, start=1))
    columns = ", ".join(f'"{name}"' for name in names)
    select = ", ".join(f"v{i}{back}" for i, (_, back) in enumerate(casts))
    aliases = ", ".join(f"v{i}" for i in range(len(names)))
    sql = (
        f'INSERT INTO "{table.name}" ({columns}) SELECT {select} '  # noqa: S608 (names from the table)
        f"FROM unnest({arrays}) AS v({aliases})"
    )
    arrays_in = tuple(_array(table.c[name], [row[name] for row in rows]) for name in names)
    await conn.exec_driver_sql(sql, arrays_in)


async def update_rows(
    conn: AsyncConnection,
    table: sa.Table,
    rows: Sequence[Mapping[str, Any]],
    match: Mapping[str, str],
) -> None:
    """UPDATE one row per dict (all with the same keys). `match` maps each key that
    selects the row (e.g. `_id`) to its column (`id`); every other key is a new value.
    A dict whose row does not match writes nothing, as its own `UPDATE … WHERE` would.
    PostgreSQL: one `UPDATE … FROM unnest(…)`; elsewhere one executemany."""
    if not rows:
        return
    names = list(rows[0])
    values = [name for name in names if name not in match]
    if conn.dialect.name != "postgresql":
        statement = (
            table.update()
            .where(*(table.c[column] == sa.bindparam(key) for key, column in match.items()))
            .values({name: sa.bindparam(name) for name in values})
        )
        await conn.execute(statement, [dict(row) for row in rows])
        return
    columns = {name: match.get(name, name) for name in names}
    casts = [_cast(table.c[columns[name]]) for name in names]
    arrays = ", ".join(f"${i}::{kind}" for i, (kind, _) in enumerate(casts, start=1))
    alias = {name: f"v{i}" for i, name in enumerate(names)}
    back = {name: cast for name, (_, cast) in zip(names, casts, strict=True)}
    sets = ", ".join(f'"{name}" = v.{alias[name]}{back[name]}' for name in values)
    where = " AND ".join(f't."{column}" = v.{alias[key]}' for key, column in match.items())
    sql = (
        f'UPDATE "{table.name}" AS t SET {sets} '  # noqa: S608 (names from the table)
        f"FROM unnest({arrays}) AS v({', '.join(alias.values())}) WHERE {where}"
    )
    arrays_in = tuple(_array(table.c[columns[name]], [row[name] for row in rows]) for name in names)
    await conn.exec_driver_sql(sql, arrays_in)
