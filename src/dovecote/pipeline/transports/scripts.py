"""Scripted sandbox outcomes: the rules' grammar, and each account's stored scripts.

A rule is `prefix=outcome` (docs/sandbox.md); an auto-reply is `prefix=text`. They come
from the settings (`DOVECOTE_SANDBOX_RULES`, `_AUTO_REPLIES`) and, per account, from the
database (`sandbox_scripts`, edited at runtime by the dashboard and
`/dovecote/sandbox/rules`): an account's own come first, so they win.

A sandbox holds a `Scripts`: the settings' part, and once started (`start`, given the
worker's engine) every account's stored part, reread only when the one-row version moves
and that version read at most every `DOVECOTE_SANDBOX_REFRESH_SECONDS`. Per message the
cost is one dictionary lookup; per batch one clock read.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from dovecote.storage.tables import sandbox_scripts, sandbox_scripts_version

log = logging.getLogger("dovecote.sandbox")

RULE, REPLY = "rule", "reply"

# `keys` scripts a voice call's key presses (digits); for every other channel it is
# simply `delivered`.
ACTIONS = frozenset({"delivered", "failed", "expired", "delay", "defer", "reject", "keys"})


@dataclass(frozen=True, slots=True)
class Rule:
    prefix: str
    action: str
    argument: str = ""


def parse_rule(line: str) -> Rule:
    prefix, sep, outcome = line.partition("=")
    action, _, argument = outcome.strip().partition(":")
    if not sep or not prefix.strip() or action not in ACTIONS:
        raise ValueError(f"bad sandbox rule {line!r}: use prefix=" + "|".join(sorted(ACTIONS)))
    argument = argument.strip()
    # Checked here, not in send(): a bad number would otherwise defer every match.
    number = r"\d+(\.\d+)?" if action == "delay" else r"\d+"
    if argument and not re.fullmatch(number, argument):
        raise ValueError(f"bad sandbox rule {line!r}: {argument!r} is not a number")
    return Rule(prefix.strip(), action, argument)


def parse_rules(lines: Sequence[str]) -> list[Rule]:
    return [parse_rule(line) for line in lines]


def parse_replies(lines: Sequence[str]) -> list[tuple[str, str]]:
    return [(prefix.strip(), text) for prefix, _, text in (line.partition("=") for line in lines)]


@dataclass(frozen=True, slots=True)
class Script:
    """What applies to one account: its stored scripts, then the settings'."""

    rules: tuple[Rule, ...] = ()
    replies: tuple[tuple[str, str], ...] = ()


# --- reading the stored scripts -----------------------------------------------------------


async def version(conn: AsyncConnection) -> int:
    query = sa.select(sandbox_scripts_version.c.version).where(sandbox_scripts_version.c.id == 1)
    return int((await conn.execute(query)).scalar() or 0)


async def stored_rows(
    conn: AsyncConnection, account_id: int | None = None
) -> Sequence[sa.RowMapping]:
    """Stored scripts, oldest first (the order they match in); all accounts' by default."""
    query = sa.select(sandbox_scripts).order_by(sandbox_scripts.c.id)
    if account_id is not None:
        query = query.where(sandbox_scripts.c.account_id == account_id)
    return (await conn.execute(query)).mappings().all()


def _by_account(rows: Iterable[sa.RowMapping], base: Script) -> dict[int, Script]:
    rules: dict[int, list[Rule]] = {}
    replies: dict[int, list[tuple[str, str]]] = {}
    for row in rows:
        account, prefix, outcome = (
            int(str(row["account_id"])),
            str(row["prefix"]),
            str(row["outcome"]),
        )
        if row["kind"] == RULE:
            try:
                rules.setdefault(account, []).append(parse_rule(f"{prefix}={outcome}"))
            except ValueError:  # written by a newer Dovecote: skipped, never fatal
                continue
        else:
            replies.setdefault(account, []).append((prefix, outcome))
    return {
        account: Script(
            (*rules.get(account, ()), *base.rules), (*replies.get(account, ()), *base.replies)
        )
        for account in rules.keys() | replies.keys()
    }


@dataclass
class Scripts:
    """The settings' scripts, plus every account's stored ones once `start`ed."""

    base: Script
    refresh: float = 1.0
    engine: AsyncEngine | None = None
    accounts: dict[int, Script] = field(default_factory=dict)
    _version: int = -1
    _checked: float = float("-inf")

    @classmethod
    def of(cls, rules: Sequence[str], replies: Sequence[str], refresh: float = 1.0) -> Scripts:
        return cls(Script(tuple(parse_rules(rules)), tuple(parse_replies(replies))), refresh)

    def start(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def of_account(self, account_id: int) -> Script:
        return self.accounts.get(account_id, self.base)

    async def current(self) -> None:
        """Reread the stored scripts if their version moved (checked at most every
        `refresh` seconds). A database error keeps the scripts in hand: delivery goes on."""
        if self.engine is None:
            return
        now = time.monotonic()
        if now - self._checked < self.refresh:
            return
        self._checked = now
        try:
            async with self.engine.connect() as conn:
                moved = await version(conn)
                if moved != self._version:
                    self.accounts = _by_account(await stored_rows(conn), self.base)
                    self._version = moved
        except (SQLAlchemyError, OSError):
            log.warning("sandbox scripts not reread: the database is unreachable", exc_info=True)
