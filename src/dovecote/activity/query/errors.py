"""The one error a query can raise: a 400 whose message says what is wrong and where."""

from __future__ import annotations

from dovecote.core.errors import InvalidInput


class QueryError(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="query")


def unknown_field(name: str) -> QueryError:
    # SendGrid's exact wording; clients match on it.
    return QueryError(f"invalid syntax: '{name}' is not a known field")
