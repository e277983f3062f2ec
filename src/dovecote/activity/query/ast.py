"""The parsed form of an Email Activity query.

Every negated spelling (`!=`, `NOT IN`, `NOT LIKE`, `NOT BETWEEN`, `IS NOT NULL`) is
parsed into `Not(...)` around its positive form, so the compiler has one place that
decides what "not" means, and `NOT q` is the complement of `q` by construction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

Operator: TypeAlias = Literal["=", "<", ">", "<=", ">="]


@dataclass(frozen=True, slots=True)
class Field:
    name: str  # lower-cased: field names are case-insensitive, like keywords
    key: str | None  # `unique_args['key']`
    spelled: str  # as written, for error messages


@dataclass(frozen=True, slots=True)
class Text:
    text: str
    # The same string as a LIKE pattern for `ESCAPE '\'`: only an unescaped `%` is a
    # wildcard; `_` and an escaped `\%` match themselves.
    pattern: str


@dataclass(frozen=True, slots=True)
class Number:
    value: float
    text: str


@dataclass(frozen=True, slots=True)
class Timestamp:
    seconds: float  # Unix time, UTC
    text: str


Value: TypeAlias = Text | Number | Timestamp


@dataclass(frozen=True, slots=True)
class Compare:
    field: Field
    op: Operator
    value: Value


@dataclass(frozen=True, slots=True)
class Between:
    field: Field
    low: Value
    high: Value


@dataclass(frozen=True, slots=True)
class In:
    field: Field
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class IsNull:
    field: Field


@dataclass(frozen=True, slots=True)
class Like:
    field: Field
    value: Value


@dataclass(frozen=True, slots=True)
class Contains:
    field: Field
    value: Value


@dataclass(frozen=True, slots=True)
class Not:
    item: Node


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Node, ...]


Predicate: TypeAlias = Compare | Between | In | IsNull | Like | Contains
Node: TypeAlias = Predicate | Not | And | Or
