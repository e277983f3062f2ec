"""AST → one SQLAlchemy Core boolean expression over `email_activity`. Never SQL text:
every literal becomes a bound parameter.

How NOT stays an exact complement. SQL's three-valued logic makes `NOT (x = 'a')` false
when x is NULL, so a naive `NOT q` and `q` would together miss the NULL rows. Instead,
negation is pushed down to the predicates (De Morgan for AND/OR), and each predicate has
an explicit two-valued negation: for a nullable column, `x IS NULL OR NOT (...)`. Above
the predicates there is only AND/OR, for which "NULL counts as false" is exactly what
WHERE does, so `q` and `NOT (q)` partition the visible messages.

Set-valued fields (`events`, `categories`, `unique_args`) compile to EXISTS subqueries
correlated on the message; EXISTS is never NULL, so NOT EXISTS is its complement.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from dovecote.activity.query import ast
from dovecote.activity.query.collation import ByteOrder
from dovecote.activity.query.errors import QueryError, unknown_field
from dovecote.activity.query.fields import EVENT_NAMES, EVENT_TYPES, FIELDS, Kind, Spec
from dovecote.activity.query.parser import checked_number, parse_timestamp
from dovecote.storage.tables import email_activity as ea
from dovecote.storage.tables import email_activity_args as args
from dovecote.storage.tables import email_activity_categories as categories
from dovecote.storage.tables import events

Condition = sa.ColumnElement[bool]
_INT32 = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Context:
    """What a query cannot see: events older than the account's history window."""

    events_since: float


def compile_filter(node: ast.Node, context: Context) -> Condition:
    return _Compiler(context).node(node, negate=False)


class _Compiler:
    def __init__(self, context: Context) -> None:
        self.context = context

    def node(self, node: ast.Node, *, negate: bool) -> Condition:
        if isinstance(node, ast.Not):
            return self.node(node.item, negate=not negate)
        if isinstance(node, ast.And | ast.Or):
            parts = [self.node(item, negate=negate) for item in node.items]
            # De Morgan: NOT (a AND b) = NOT a OR NOT b.
            conjunction = isinstance(node, ast.And) != negate
            return sa.and_(*parts) if conjunction else sa.or_(*parts)
        return self.predicate(node, negate=negate)

    def predicate(self, node: ast.Predicate, *, negate: bool) -> Condition:
        spec = _spec(node.field)
        positive = self._positive(node, spec)
        if not negate:
            return positive
        if spec.nullable and not isinstance(node, ast.IsNull):
            assert spec.column is not None
            # A NULL matches no positive predicate, so it belongs to every negation.
            return sa.or_(spec.column.is_(None), sa.not_(positive))
        return sa.not_(positive)

    def _positive(self, node: ast.Predicate, spec: Spec) -> Condition:
        field = node.field
        if spec.kind is Kind.ARGS:
            return self._args(node)
        if field.key is not None:
            raise QueryError(f"invalid syntax: '{field.name}' takes no ['key']")
        if spec.kind in (Kind.EVENTS, Kind.CATEGORIES):
            return self._set(node, spec.kind)
        assert spec.column is not None
        column = spec.column
        if isinstance(node, ast.Contains):
            raise QueryError(
                f"invalid syntax: Contains() works on events and categories, not '{field.name}'"
            )
        if isinstance(node, ast.IsNull):
            return column.is_(None) if spec.nullable else sa.false()
        if spec.kind is Kind.TIME:
            return _time(node, column)
        if spec.kind is Kind.NUMBER:
            return _scalar(node, column, lambda v: _number(field, v), ordered=column)
        return _scalar(node, column, lambda v: _text(field, v), ordered=ByteOrder(column))

    def _set(self, node: ast.Predicate, kind: Kind) -> Condition:
        name = node.field.name
        if kind is Kind.EVENTS:
            column = events.c.type
            convert: Callable[[ast.Value], Any] = _event_type
            base = [
                events.c.message_id == ea.c.message_id,
                events.c.account_id == ea.c.account_id,
                events.c.channel == "email",
                events.c.occurred_at >= self.context.events_since,
            ]
        else:
            column = categories.c.category
            convert = lambda v: _text(node.field, v)  # noqa: E731
            base = [categories.c.message_id == ea.c.message_id]
        if isinstance(node, ast.IsNull):  # "has none" (of the events the API can show)
            if kind is Kind.EVENTS:
                base.append(events.c.type.in_(list(EVENT_NAMES)))
            return ~sa.exists().where(*base)
        if isinstance(node, ast.Contains) or (isinstance(node, ast.Compare) and node.op == "="):
            match: Condition = column == convert(node.value)
        elif isinstance(node, ast.In):
            match = column.in_([convert(v) for v in node.values])
        elif isinstance(node, ast.Like) and kind is Kind.CATEGORIES:
            match = column.ilike(_pattern(node.field, node.value), escape="\\")
        else:
            raise QueryError(
                f"invalid syntax: '{name}' supports =, !=, IN, IS NULL and Contains()"
                + (" and LIKE" if kind is Kind.CATEGORIES else "")
            )
        return sa.exists().where(*base, match)

    def _args(self, node: ast.Predicate) -> Condition:
        key = node.field.key
        base = [args.c.message_id == ea.c.message_id]
        if key is None:
            if isinstance(node, ast.IsNull):
                return ~sa.exists().where(*base)
            raise QueryError(
                "invalid syntax: name the argument, e.g. unique_args['customer']=\"42\""
            )
        base.append(args.c.key == key)
        if isinstance(node, ast.IsNull):  # the message has no such argument
            return ~sa.exists().where(*base)
        if isinstance(node, ast.Contains):
            raise QueryError("invalid syntax: Contains() works on events and categories")
        match = _scalar(
            node, args.c.value, lambda v: _text(node.field, v), ordered=ByteOrder(args.c.value)
        )
        return sa.exists().where(*base, match)


def _spec(field: ast.Field) -> Spec:
    spec = FIELDS.get(field.name)
    if spec is None:
        raise unknown_field(field.spelled)
    return spec


def _scalar(
    node: ast.Predicate,
    column: sa.ColumnElement[Any],
    convert: Callable[[ast.Value], Any],
    *,
    ordered: sa.ColumnElement[Any],
) -> Condition:
    """Text and number predicates; `ordered` is the column as ordering comparisons see it."""
    if isinstance(node, ast.Compare):
        value = convert(node.value)
        if node.op == "=":
            equal: Condition = column == value
            return equal
        return _ORDER[node.op](ordered, value)
    if isinstance(node, ast.Between):
        return sa.and_(ordered >= convert(node.low), ordered <= convert(node.high))
    if isinstance(node, ast.In):
        return column.in_([convert(v) for v in node.values])
    if isinstance(node, ast.Like):
        if isinstance(column.type, sa.Integer):
            raise QueryError(f"invalid syntax: LIKE needs a text field, not '{node.field.name}'")
        # Case-insensitive on both backends (ILIKE on PostgreSQL, lower() on SQLite).
        return column.ilike(_pattern(node.field, node.value), escape="\\")
    raise AssertionError(f"unhandled predicate {node!r}")  # IsNull/Contains handled above


_ORDER: dict[str, Callable[[sa.ColumnElement[Any], Any], Condition]] = {
    "<": lambda c, v: c < v,
    ">": lambda c, v: c > v,
    "<=": lambda c, v: c <= v,
    ">=": lambda c, v: c >= v,
}


def _time(node: ast.Predicate, column: sa.ColumnElement[Any]) -> Condition:
    """Whole-second semantics: the API shows times to the second, so `= TIMESTAMP
    "…:21Z"` means "during that second", i.e. start <= t < start + 1."""

    # Floats, not ints: an int would be bound as int4 on PostgreSQL and overflow in 2038.
    def second(value: ast.Value) -> float:
        if isinstance(value, ast.Timestamp | ast.Number):
            seconds = value.seconds if isinstance(value, ast.Timestamp) else value.value
        else:
            seconds = parse_timestamp(value.text)
        return float(math.floor(seconds))

    def during(start: float) -> Condition:
        return sa.and_(column >= start, column < start + 1)

    if isinstance(node, ast.Compare):
        start = second(node.value)
        if node.op == "=":
            return during(start)
        # <= and > round up to the next second: "<= :21" includes all of second 21.
        bound = start + 1 if node.op in ("<=", ">") else start
        return column < bound if node.op in ("<", "<=") else column >= bound
    if isinstance(node, ast.Between):
        return sa.and_(column >= second(node.low), column < second(node.high) + 1)
    if isinstance(node, ast.In):
        return sa.or_(*(during(second(v)) for v in node.values))
    raise QueryError(f"invalid syntax: LIKE needs a text field, not '{node.field.name}'")


def _text(field: ast.Field, value: ast.Value) -> str:
    if isinstance(value, ast.Timestamp):
        raise QueryError(f"invalid syntax: '{field.name}' is not a time; TIMESTAMP does not apply")
    return value.text


def _number(field: ast.Field, value: ast.Value) -> Any:
    if isinstance(value, ast.Number):
        number = value.value
    elif isinstance(value, ast.Text):
        try:
            number = checked_number(value.text.strip())
        except ValueError:
            raise QueryError(
                f"invalid syntax: '{field.name}' needs a number, got \"{value.text[:40]}\""
            ) from None
    else:
        raise QueryError(f"invalid syntax: '{field.name}' needs a number, not a TIMESTAMP")
    if number.is_integer() and abs(number) <= _INT32:
        return int(number)
    # A fraction or a huge number: bind as a float so PostgreSQL never sees it as int4.
    return sa.literal(number, sa.Float())


def _pattern(field: ast.Field, value: ast.Value) -> str:
    if isinstance(value, ast.Text):
        return value.pattern
    if isinstance(value, ast.Number):
        return value.text
    raise QueryError(f"invalid syntax: LIKE needs a text pattern for '{field.name}'")


def _event_type(value: ast.Value) -> str:
    stored = EVENT_TYPES.get(value.text.strip().lower()) if isinstance(value, ast.Text) else None
    if stored is None:
        raise QueryError(
            f"invalid syntax: '{value.text[:40]}' is not an event; use one of "
            + ", ".join(sorted(set(EVENT_NAMES.values())))
        )
    return stored
