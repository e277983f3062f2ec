"""Text → `ast.Node`: lark parses, a Transformer builds the AST, limits keep it small.

Limits exist because the AST is compiled recursively into SQL: an unbounded nesting
depth would hit Python's recursion limit (a 500) and an unbounded number of values
would exceed the database's bound-parameter limit (SQLite 32,766; asyncpg 32,767).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

from lark import Lark, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

from dovecote.activity.query import ast
from dovecote.activity.query.errors import QueryError
from dovecote.activity.query.grammar import GRAMMAR

MAX_LENGTH = 10_000  # characters
MAX_DEPTH = 64  # nested parentheses and NOTs, counted as parse-tree levels
MAX_VALUES = 1_000  # literals in the whole query (IN lists included)
# Beyond this a float loses whole seconds and an int overflows the database's columns.
MAX_MAGNITUDE = 1e15

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_UNIX_SECONDS = re.compile(r"-?[0-9]+(\.[0-9]+)?")


@cache
def _lark() -> Lark:
    # Built once per process (~30 ms); `cache` keeps import time low for the CLI.
    return Lark(GRAMMAR, parser="lalr", maybe_placeholders=False)


def parse(query: str) -> ast.Node:
    """Parse a query; raise `QueryError` (a 400) for anything that is not a valid query."""
    if len(query) > MAX_LENGTH:
        raise QueryError(f"invalid syntax: the query is longer than {MAX_LENGTH} characters")
    if not query.strip():
        raise QueryError("invalid syntax: the query is empty")
    if "\x00" in query:  # PostgreSQL refuses NUL in text; refuse it here, not with a 500
        raise QueryError("invalid syntax: the query contains a NUL character")
    try:
        tree = _lark().parse(query)
    except UnexpectedInput as exc:
        raise QueryError(_describe(exc, query)) from None
    _check_size(tree)
    try:
        node: ast.Node = _Build().transform(tree)
    except VisitError as exc:
        if isinstance(exc.orig_exc, QueryError):
            raise exc.orig_exc from None
        raise
    return node


def _describe(exc: UnexpectedInput, query: str) -> str:
    offset = exc.pos_in_stream if exc.pos_in_stream is not None else len(query) - 1
    position = offset + 1
    if isinstance(exc, UnexpectedCharacters):
        char = query[offset]
        if char in "\"'":
            return f"invalid syntax: unterminated string starting at character {position}"
        return f"invalid syntax: unexpected character {char!r} at character {position}"
    if isinstance(exc, UnexpectedToken):
        token = exc.token
        if token.type == "$END":
            return "invalid syntax: unexpected end of query"
        if token.type == "NAME" and "STRING" in exc.expected:
            return (
                f"invalid syntax: unquoted value '{token.value}' at character {position}; "
                'put values in double quotes, e.g. status="delivered"'
            )
        return f"invalid syntax: unexpected '{token.value}' at character {position}"
    return f"invalid syntax at character {position}"


def _check_size(tree: Tree[Token]) -> None:
    # Iterative, so that checking depth cannot itself overflow the stack.
    stack: list[tuple[Tree[Token] | Token, int]] = [(tree, 1)]
    values = 0
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise QueryError(f"invalid syntax: the query nests deeper than {MAX_DEPTH} levels")
        if isinstance(node, Tree):
            if node.data in ("string", "number", "timestamp"):
                values += 1
            stack.extend((child, depth + 1) for child in node.children)
    if values > MAX_VALUES:
        raise QueryError(f"invalid syntax: the query has more than {MAX_VALUES} values")


def decode_string(raw: str) -> ast.Text:
    """A quoted literal → its text and its LIKE pattern (backslash escapes resolved)."""
    body = raw[1:-1]
    text: list[str] = []
    pattern: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        escaped = char == "\\"
        if escaped:  # the grammar guarantees a character follows
            i += 1
            char = _ESCAPES.get(body[i], body[i])
        text.append(char)
        if char == "%" and not escaped:
            pattern.append("%")
        elif char in "%_\\":
            pattern.append("\\" + char)
        else:
            pattern.append(char)
        i += 1
    return ast.Text(text="".join(text), pattern="".join(pattern))


def parse_timestamp(text: str) -> float:
    """ISO 8601 (`2017-10-13T18:56:21Z`, offsets, fractions), `YYYY-MM-DD HH:MM:SS`
    or Unix seconds; a time without an offset is UTC."""
    value = text.strip()
    if _UNIX_SECONDS.fullmatch(value):
        return checked_number(value)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise QueryError(
            f"invalid syntax: '{text}' is not a timestamp; "
            'use ISO 8601, e.g. TIMESTAMP "2017-10-13T18:56:21Z"'
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def checked_number(text: str) -> float:
    value = float(text)
    if not abs(value) <= MAX_MAGNITUDE:  # also catches inf from a 400-digit literal
        raise QueryError(f"invalid syntax: the number {text[:40]} is out of range")
    return value


class _Build(Transformer[Token, Any]):
    """Parse tree → AST. Method names are the grammar's rule aliases."""

    def field(self, children: list[Token]) -> ast.Field:
        name = children[0]
        key = decode_string(children[1]).text if len(children) > 1 else None
        return ast.Field(name=str(name).lower(), key=key, spelled=str(name))

    def string(self, children: list[Token]) -> ast.Text:
        return decode_string(children[0])

    def number(self, children: list[Token]) -> ast.Number:
        return ast.Number(value=checked_number(children[0]), text=str(children[0]))

    def timestamp(self, children: list[Token]) -> ast.Timestamp:
        text = decode_string(children[0]).text
        return ast.Timestamp(seconds=parse_timestamp(text), text=text)

    def value_list(self, children: list[ast.Value]) -> tuple[ast.Value, ...]:
        return tuple(children)

    def compare(self, children: list[Any]) -> ast.Node:
        field, op, value = children
        if op in ("!=", "<>"):
            return ast.Not(ast.Compare(field, "=", value))
        return ast.Compare(field, str(op), value)  # type: ignore[arg-type]

    def between(self, children: list[Any]) -> ast.Node:
        return ast.Between(*children)

    def not_between(self, children: list[Any]) -> ast.Node:
        return ast.Not(ast.Between(*children))

    def in_list(self, children: list[Any]) -> ast.Node:
        return ast.In(children[0], children[1])

    def not_in_list(self, children: list[Any]) -> ast.Node:
        return ast.Not(ast.In(children[0], children[1]))

    def is_null(self, children: list[Any]) -> ast.Node:
        return ast.IsNull(children[0])

    def is_not_null(self, children: list[Any]) -> ast.Node:
        return ast.Not(ast.IsNull(children[0]))

    def like(self, children: list[Any]) -> ast.Node:
        return ast.Like(*children)

    def not_like(self, children: list[Any]) -> ast.Node:
        return ast.Not(ast.Like(*children))

    def contains(self, children: list[Any]) -> ast.Node:
        return ast.Contains(*children)

    def negation(self, children: list[ast.Node]) -> ast.Node:
        return ast.Not(children[0])

    def and_expr(self, children: list[ast.Node]) -> ast.Node:
        return ast.And(tuple(children))

    def or_expr(self, children: list[ast.Node]) -> ast.Node:
        return ast.Or(tuple(children))
