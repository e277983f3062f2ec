"""Whose messages a caller sees: the whole account, or only its own.

Every history, receipt and cancel query of every channel is bounded by a `Scope`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from dovecote.core.models import Principal


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose rows a caller sees: the whole account, or only `user_id`'s when it is set."""

    account_id: int
    user_id: int | None = None


def visible(table: sa.Table, scope: Scope) -> list[sa.ColumnElement[bool]]:
    conditions = [table.c.account_id == scope.account_id]
    if scope.user_id is not None:
        conditions.append(table.c.user_id == scope.user_id)
    return conditions


def scope_for(principal: Principal) -> Scope:
    """The main user and `access_reporting` users see the account; others only themselves."""
    if principal.can("access_reporting"):
        return Scope(principal.account.id)
    return Scope(principal.account.id, principal.user.id)
