"""Statements over a whole batch of rows that cost one round trip and one execution.

On PostgreSQL an executemany is one round trip but N executions (a Bind/Execute per
row), and a long `IN (…)` list is rendered afresh by SQLAlchemy on every call (~1,000
bound parameters) and parsed afresh by PostgreSQL. Here a batch travels as one array
per column instead: `= ANY($1)` for a set of keys, `unnest($1, $2, …)` for the rows to
insert or update. With the other changes of bench/README.md, "Dispatcher on PostgreSQL",
that halved the worker's CPU per dispatched message and cut PostgreSQL's by a third.
SQLite inserts the same way, a column whose values are all the same as one parameter and
the others as the columns of one `VALUES` list: its executemany binds every parameter
of every row anew, ~4.7 µs a row of the `messages` table against ~1.1 (bench/README.md,
"Session 8"). Other statements over rows (`execute_rows`) stay an executemany.
"""

from __future__ import annotations

import functools
import itertools
import json
import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

# The dialect that renders a column's type as PostgreSQL spells it (for the array casts).
_PG = postgresql.dialect()  # type: ignore[no-untyped-call]
_SQLITE = sqlite.dialect()


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
    """(type to send, cast back to the column's type)."""
    if isinstance(column.type, sa.JSON):
        return "text", "::json"  # sent as JSON text: asyncpg has no json[] codec
    if isinstance(column.type, sa.String):
        # No length: a cast to VARCHAR(n) would truncate a value too long for the column
        # in silence, where the assignment to the column refuses it (as before).
        return "varchar", ""
    return column.type.compile(dialect=_PG), ""


def _same(values: Sequence[Any]) -> bool:
    first = values[0]
    kind = type(first)
    return all(type(value) is kind and value == first for value in values)


class _Params:
    """The parameters of one batch statement: a column whose values are all the same
    goes as one scalar, the others as one array each. Most of a batch's columns are
    constant (the dispatcher's `sent` outcomes share status, codes, owner, attempts),
    and every array costs asyncpg a type check per element and PostgreSQL an unnest."""

    def __init__(self, table: sa.Table) -> None:
        self.table = table
        self.values: list[Any] = []
        self.arrays: list[str] = []  # `$n::type[]`, the arguments of unnest
        self.aliases: list[str] = []

    def add(self, column: str, values: list[Any], *, array: bool = False) -> str:
        """The SQL expression that reads `values` (for one row) as `column`'s type."""
        kind, back = _cast(self.table.c[column])
        number = len(self.values) + 1
        if back:
            # JSON goes as text; None is JSON null, as SQLAlchemy's JSON type writes it.
            # Compared as text: {"n": 1} and {"n": True} are equal dicts but not one value.
            values = _encode_json(json.dumps, values)
        if array or not _same(values):
            self.values.append(values)
            self.arrays.append(f"${number}::{kind}[]")
            self.aliases.append(f"v{number}")
            return f"v.v{number}{back}"
        self.values.append(values[0])
        return f"${number}::{kind}{back}"

    def source(self) -> str:
        return f"unnest({', '.join(self.arrays)}) AS v({', '.join(self.aliases)})"


def columns_of(items: Sequence[Any], names: Sequence[str]) -> dict[str, list[Any]]:
    """The attributes `names` of `items`, one list per name: the columns `insert_columns`
    takes. A dict per item cost ~10 % of a dispatcher pass; this transposition runs in C,
    ~0.06 µs an item (7 columns) more than a comprehension written out per column."""
    if not items:
        return {name: [] for name in names}
    get = operator.attrgetter(*names)
    rows = map(get, items) if len(names) > 1 else ((get(item),) for item in items)
    columns = zip(*rows, strict=True)
    return {name: list(column) for name, column in zip(names, columns, strict=True)}


async def insert_rows(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """INSERT dict rows, as `conn.execute(table.insert(), rows)` would, in one statement
    per run of rows with the same keys (a run keeps its order: event ids follow it)."""
    columns = _columns_of_rows(rows)
    if columns is not None:
        await insert_columns(conn, table, columns)
        return
    start = 0
    while start < len(rows):
        keys = rows[start].keys()
        end = start + 1
        while end < len(rows) and rows[end].keys() == keys:
            end += 1
        run = rows[start:end]
        await insert_columns(conn, table, {name: [row[name] for row in run] for name in keys})
        start = end


def _columns_of_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]] | None:
    """The rows column by column when all have the same keys (the usual case: one
    function built them), else None. As many keys each, and each of the first row's
    found in every row: that is the same keys, told without comparing them row by row
    (~0.4 ms for 1,000 message rows)."""
    if not rows or len(set(map(len, rows))) != 1:
        return None
    try:
        return {name: [row[name] for row in rows] for name in rows[0]}
    except KeyError:
        return None


async def insert_columns(
    conn: AsyncConnection, table: sa.Table, columns: Mapping[str, list[Any]]
) -> None:
    """INSERT rows given column by column (lists of the same length, the first column
    varying or not): one `INSERT … SELECT FROM unnest` on PostgreSQL, `INSERT … SELECT
    FROM (VALUES …)` on SQLite."""
    names = list(columns)
    count = len(columns[names[0]]) if names else 0
    if not count:
        return
    if conn.dialect.name != "postgresql":
        await _sqlite_insert(conn, table, columns)
        return
    params = _Params(table)
    # The first column always goes as an array: unnest gives the row count.
    select = [params.add(names[0], columns[names[0]], array=True)]
    select += [params.add(name, columns[name]) for name in names[1:]]
    quoted = ", ".join(f'"{name}"' for name in names)
    sql = (
        f'INSERT INTO "{table.name}" ({quoted}) '  # noqa: S608 (names from the table)
        f"SELECT {', '.join(select)} FROM {params.source()}"
    )
    await conn.exec_driver_sql(sql, tuple(params.values))


# SQLite's bound on one statement's parameters by default since 3.32 (builds may allow more).
_SQLITE_MAX_PARAMETERS = 32_766
# Fewer rows go as an executemany: each row count is a statement of its own text, and one
# SQLite has not prepared yet costs ~70-90 µs more. Measured with the `messages` table's
# indexes (executemany / VALUES prepared / VALUES fresh, µs): 3 rows 97 / 102 / 171,
# 30 rows 593 / 442 / 557, 1,000 rows 12,915 / 2,985 / 4,166. A group commit's single
# sends (a few to a few tens of rows) keep the executemany they had.
_SQLITE_VALUES_FROM = 64


async def _sqlite_insert(
    conn: AsyncConnection, table: sa.Table, columns: Mapping[str, list[Any]]
) -> None:
    converted = [
        convert(values) if (convert := _column_converter(table, name)) else values
        for name, values in columns.items()
    ]
    quoted = ", ".join(f'"{name}"' for name in columns)
    await _sqlite_values(conn, f'INSERT INTO "{table.name}" ({quoted})', converted)


async def _sqlite_values(
    conn: AsyncConnection, into: str, columns: Sequence[Sequence[Any]], conflict: str = ""
) -> None:
    """`{into} SELECT … FROM (VALUES …) {conflict}` for columns of values already through
    their bind processors (JSON text, floats): a column of one value is one parameter;
    the others, the first always, are the VALUES' columns, which SQLite names column1,
    column2, … . Rows go in their order (event ids follow it; an upsert meets an earlier
    row of the same statement as executemany did), in as few statements as the parameter
    bound allows. Below `_SQLITE_VALUES_FROM` rows, `{into} VALUES (?, …) {conflict}` as
    an executemany."""
    if len(columns[0]) < _SQLITE_VALUES_FROM:
        sql = f"{into} VALUES ({', '.join('?' * len(columns))}) {conflict}".rstrip()
        await conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))
        return
    select: list[str] = []
    constants: list[Any] = []
    varying: list[Sequence[Any]] = []
    for values in columns:
        if varying and _constant(values):
            select.append("?")
            constants.append(values[0])
        else:
            varying.append(values)
            select.append(f"column{len(varying)}")
    head = f"{into} SELECT {', '.join(select)} FROM (VALUES "  # noqa: S608 (built here)
    # After a FROM, SQLite would read an upsert's ON as a join's: a WHERE must come between.
    tail = f") WHERE true {conflict}" if conflict else ")"
    row = f"({', '.join('?' * len(varying))})"
    rows = list(zip(*varying, strict=True))
    step = max(1, (_SQLITE_MAX_PARAMETERS - len(constants)) // len(varying))
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        sql = head + ", ".join([row] * len(chunk)) + tail
        await conn.exec_driver_sql(sql, (*constants, *itertools.chain.from_iterable(chunk)))


_ONE_TYPE_EQUAL = (str, type(None))


def _constant(values: Sequence[Any]) -> bool:
    """All one value of one type (1, 1.0 and True are equal but bind differently; a str
    or None equals only a str, or None). In C: a generator over every value of every
    column cost more than the binds it saves; the last value first, which tells most
    varying columns apart at once."""
    first, last = values[0], values[-1]
    return (
        type(last) is type(first)
        and last == first
        and values.count(first) == len(values)
        and (type(first) in _ONE_TYPE_EQUAL or len(set(map(type, values))) == 1)
    )


@functools.cache
def _column_converter(table: sa.Table, name: str) -> Converter | None:
    kind = table.c[name].type
    return _converter(kind.dialect_impl(_SQLITE).bind_processor(_SQLITE), kind)


async def execute_rows(
    conn: AsyncConnection, statement: sa.Executable, rows: Sequence[Mapping[str, Any]]
) -> None:
    """`conn.execute(statement, rows)` for a statement built once (module level) whose
    parameters are named after the rows' keys; each row has a value for every one (a bare
    `insert(table)` names every column of the table). Through SQLAlchemy each row became a
    parameter dict run through every bind processor, ~1.5 µs a row and column (a quarter
    of a batched send's CPU). On SQLite the statement is compiled once and only the
    parameters whose type has a processor (JSON) are converted, by SQLAlchemy's own
    processors; an INSERT whose parameters are all in its VALUES (an upsert's ON CONFLICT
    holding none) runs as one `INSERT … SELECT FROM (VALUES …)`, anything else as one
    executemany of tuples."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        await conn.execute(statement, list(rows))
        return
    order = _sqlite_compiled(statement)[1]
    await _sqlite_execute(conn, statement, {name: [row[name] for row in rows] for name in order})


async def execute_columns(
    conn: AsyncConnection, statement: sa.Executable, columns: Mapping[str, Sequence[Any]]
) -> None:
    """`execute_rows` for rows given column by column (as `columns_of` reads them from
    objects): on SQLite no dict is built per row."""
    names = list(columns)
    if not names or not columns[names[0]]:
        return
    if conn.dialect.name != "sqlite":
        rows = [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
        await conn.execute(statement, rows)
        return
    await _sqlite_execute(conn, statement, columns)


async def _sqlite_execute(
    conn: AsyncConnection, statement: sa.Executable, columns: Mapping[str, Sequence[Any]]
) -> None:
    sql, order, converters = _sqlite_compiled(statement)
    converted = [
        convert(columns[name]) if (convert := converters[name]) else columns[name] for name in order
    ]
    parts = _values_parts(sql, len(order))
    if parts is None:
        await conn.exec_driver_sql(sql, list(zip(*converted, strict=True)))
    else:
        into, conflict = parts
        await _sqlite_values(conn, into, converted, conflict)


@functools.cache
def _values_parts(sql: str, count: int) -> tuple[str, str] | None:
    """`INSERT INTO t (…) VALUES (?, …) <rest>` as (`INSERT INTO t (…)`, `<rest>`) when its
    `count` parameters are all in that VALUES; else None."""
    values = f" VALUES ({', '.join('?' * count)})"
    into, found, rest = sql.partition(values)
    if not found or not into.startswith("INSERT INTO ") or "?" in into + rest:
        return None
    return into, rest.strip()


Converter = Callable[[Sequence[Any]], list[Any]]


@functools.cache
def _sqlite_compiled(
    statement: sa.Executable,
) -> tuple[str, tuple[str, ...], dict[str, Converter | None]]:
    """The statement's SQLite text, its parameters' order, and for each parameter whose
    type has a bind processor, what runs a column of values through it. (SQLite's dialect
    and drivers use `?` markers: positional, in this order.)"""
    compiled = statement.compile(dialect=_SQLITE)  # type: ignore[attr-defined]
    assert compiled.positiontup is not None
    converters = {
        name: _converter(bind.type.dialect_impl(_SQLITE).bind_processor(_SQLITE), bind.type)
        for name, bind in compiled.binds.items()
    }
    return str(compiled), tuple(compiled.positiontup), converters


def _converter(process: Callable[[Any], Any] | None, kind: Any) -> Converter | None:
    if process is None:
        return None
    if isinstance(kind, sa.JSON):
        return functools.partial(_encode_json, process)
    return functools.partial(_convert, process)


def _convert(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    return list(map(process, values))


def _encode_json(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """A JSON column's values through its processor, each object once: the `queued` events
    of one send share one dict per price (`pipeline.outbound`), and json.dumps costs
    ~1.7 µs even for a dict of two keys, most of it the encoder's set-up."""
    encoded: dict[int, Any] = {}
    result = []
    for value in values:
        key = id(value)  # every value stays alive in `values` until this returns
        if key not in encoded:
            encoded[key] = process(value)
        result.append(encoded[key])
    return result


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
    params = _Params(table)
    # The keys always go as arrays, joined to the table: a constant `lease_owner = $2`
    # made PostgreSQL's generic plan (from the sixth execution on) scan the whole table
    # for that owner — the finish took twice as long.
    where = [
        f't."{column}" = {params.add(column, [row[key] for row in rows], array=True)}'
        for key, column in match.items()
    ]
    sets = [f'"{name}" = {params.add(name, [row[name] for row in rows])}' for name in values]
    sql = (
        f'UPDATE "{table.name}" AS t SET {", ".join(sets)} '  # noqa: S608 (names from the table)
        f"FROM {params.source()} WHERE {' AND '.join(where)}"
    )
    await conn.exec_driver_sql(sql, tuple(params.values))
