"""Byte-order text comparison on every backend.

`<`/`>` on text must give the same answer on SQLite and PostgreSQL. SQLite compares
bytes (BINARY); PostgreSQL uses the database's locale, where `"B" < "a"` may be false.
`COLLATE "C"` makes PostgreSQL compare bytes too. It costs the index on that column for
ordering comparisons only; `=`, `IN` and `LIKE` do not go through here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal


class ByteOrder(sa.ColumnElement[str]):
    inherit_cache = True
    # SQLAlchemy's own declaration style; it reads this to build cache keys.
    _traverse_internals = [("expr", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, expr: sa.ColumnElement[Any]) -> None:
        self.expr = expr
        self.type = sa.String()


@compiles(ByteOrder)
def _plain(element: ByteOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.expr, **kw)


@compiles(ByteOrder, "postgresql")
def _postgresql(element: ByteOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.expr, **kw)} COLLATE "C")'
