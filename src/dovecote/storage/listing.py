"""ClickSend's list conventions applied to a query: search, order, pages.

Only whitelisted fields reach SQL, always as bound parameters: a `q` or
`order_by` naming anything else is refused before a query is built.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.core.errors import InvalidInput

# The last page anyone may ask for. Unbounded, `(page - 1) * limit` overflows the
# OFFSET both databases accept (SQLite: OverflowError binding it; PostgreSQL: bigint
# out of range), a 500. 2**31 - 1 pages of 100 rows is far past any real table.
MAX_PAGE = 2**31 - 1


def check_page(page: int) -> None:
    if not 1 <= page <= MAX_PAGE:
        raise InvalidInput(f"Invalid page: page must be between 1 and {MAX_PAGE}.", field="page")


@dataclass(frozen=True, slots=True)
class ListQuery:
    filters: Sequence[tuple[str, str]] = ()
    operator: Literal["AND", "OR"] = "AND"
    order: Sequence[tuple[str, Literal["asc", "desc"]]] = ()
    page: int = 1
    limit: int = 15


@dataclass(frozen=True, slots=True)
class Page:
    rows: Sequence[Mapping[str, Any]]
    total: int
    page: int
    limit: int

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.limit))


@dataclass(frozen=True, slots=True)
class Fields:
    """Wire field name → column; `text` fields match case-insensitive substrings."""

    columns: Mapping[str, sa.ColumnElement[Any]]
    text: frozenset[str] = field(default_factory=frozenset)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _condition(fields: Fields, name: str, value: str) -> sa.ColumnElement[bool]:
    column = fields.columns.get(name)
    if column is None:
        raise InvalidInput(f"Search field '{name}' is not supported.", field="q")
    if name in fields.text:
        pattern = f"%{_escape_like(value.lower())}%"
        return sa.func.lower(sa.cast(column, sa.String)).like(pattern, escape="\\")
    python_type = getattr(column.type, "python_type", str)
    if python_type is bool:
        return column == (value.strip().lower() in ("1", "true", "yes"))
    if python_type is int:
        try:
            number = int(value)
        except ValueError:
            raise InvalidInput(f"Search field '{name}' needs a number.", field="q") from None
        bits = 64 if isinstance(column.type, sa.BigInteger) else 32
        if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
            # PostgreSQL refuses to bind a value wider than the column; no row can match it.
            raise InvalidInput(f"Search field '{name}' is out of range.", field="q")
        return column == number
    return sa.func.lower(sa.cast(column, sa.String)) == value.lower()


async def paginate(
    conn: AsyncConnection,
    query: sa.Select[Any],
    params: ListQuery,
    fields: Fields,
    default_order: Sequence[sa.ColumnElement[Any]],
) -> Page:
    if params.filters:
        conditions = [_condition(fields, name, value) for name, value in params.filters]
        query = query.where(
            sa.or_(*conditions) if params.operator == "OR" else sa.and_(*conditions)
        )
    ordering: list[sa.ColumnElement[Any]] = []
    for name, direction in params.order:
        column = fields.columns.get(name)
        if column is None:
            raise InvalidInput(f"Order field '{name}' is not supported.", field="order_by")
        ordering.append(column.desc() if direction == "desc" else column.asc())
    check_page(params.page)
    counted = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    total = int((await conn.execute(counted)).scalar_one())
    rows_query = (
        query.order_by(*ordering, *default_order)
        .limit(params.limit)
        .offset((params.page - 1) * params.limit)
    )
    rows = list((await conn.execute(rows_query)).mappings())
    return Page(rows=rows, total=total, page=params.page, limit=params.limit)
