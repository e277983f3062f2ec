"""An account's scripted sandbox outcomes, edited at runtime (dashboard's Sandbox page,
`/dovecote/sandbox/rules`): rules (`prefix` → `outcome`, the grammar of
`DOVECOTE_SANDBOX_RULES`) and auto-replies (`prefix` → `text`).

They are settings-like, so they need `access_settings`, as the account's other settings
do. Every write bumps the scripts' version in the same transaction; the sandboxes notice
it within `DOVECOTE_SANDBOX_REFRESH_SECONDS` (`transports/scripts.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from dovecote.accounts.service import require
from dovecote.core.errors import InvalidInput, NotFound
from dovecote.core.models import Principal
from dovecote.pipeline.transports.scripts import ACTIONS, REPLY, RULE, parse_rule, stored_rows
from dovecote.storage.tables import sandbox_scripts, sandbox_scripts_version

PERMISSION = "access_settings"
KINDS = (RULE, REPLY)
MAX_PREFIX = 64
MAX_TEXT = 1000
MAX_PER_ACCOUNT = 200  # each is a prefix test per message of the account


@dataclass(frozen=True, slots=True)
class SandboxScript:
    id: int
    kind: str  # "rule" or "reply"
    prefix: str
    outcome: str  # a rule's outcome (`failed:302`), or an auto-reply's text
    created_at: int

    @property
    def line(self) -> str:
        """As the settings write it: `+1555=failed:302`."""
        return f"{self.prefix}={self.outcome}"


def _from_row(row: sa.RowMapping) -> SandboxScript:
    return SandboxScript(
        int(row["id"]), row["kind"], row["prefix"], row["outcome"], int(row["created_at"])
    )


def validate(kind: str, prefix: str | None, outcome: str | None) -> tuple[str, str]:
    """The stored (prefix, outcome) of a script, or InvalidInput saying what is wrong."""
    if kind not in KINDS:
        raise InvalidInput("type must be 'rule' or 'auto_reply'.", field="type")
    prefix = (prefix or "").strip()
    if not prefix:
        raise InvalidInput("prefix must not be empty.", field="prefix")
    if len(prefix) > MAX_PREFIX or "=" in prefix or not prefix.isprintable():
        raise InvalidInput(
            f"prefix must be at most {MAX_PREFIX} printable characters, without '='.",
            field="prefix",
        )
    if kind == REPLY:
        text = (outcome or "").strip()
        if not text or len(text) > MAX_TEXT or "\x00" in text:
            raise InvalidInput(f"text must be 1 to {MAX_TEXT} characters.", field="text")
        return prefix, text
    try:
        rule = parse_rule(f"{prefix}={(outcome or '').strip()}")
    except ValueError:
        known = ", ".join(sorted(ACTIONS))
        raise InvalidInput(
            f"outcome {outcome!r} is not a sandbox outcome: use one of {known}, with a "
            "number after ':' where it takes one (failed:302, delay:30, defer:2).",
            field="outcome",
        ) from None
    return prefix, f"{rule.action}:{rule.argument}" if rule.argument else rule.action


async def _bump(conn: AsyncConnection) -> None:
    moved = await conn.execute(
        sandbox_scripts_version.update()
        .where(sandbox_scripts_version.c.id == 1)
        .values(version=sandbox_scripts_version.c.version + 1)
    )
    if moved.rowcount == 0:
        await conn.execute(sandbox_scripts_version.insert().values(id=1, version=1))


async def list_scripts(conn: AsyncConnection, principal: Principal) -> list[SandboxScript]:
    """The account's rules, then its auto-replies, each in the order they match."""
    require(principal, PERMISSION)
    scripts = [_from_row(row) for row in await stored_rows(conn, principal.account.id)]
    return sorted(scripts, key=lambda s: KINDS.index(s.kind))


async def get_script(conn: AsyncConnection, principal: Principal, script_id: int) -> SandboxScript:
    require(principal, PERMISSION)
    row = (
        (
            await conn.execute(
                sa.select(sandbox_scripts).where(
                    sandbox_scripts.c.id == script_id,
                    sandbox_scripts.c.account_id == principal.account.id,
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"Sandbox rule #{script_id} not found.")
    return _from_row(row)


async def add_script(
    conn: AsyncConnection, principal: Principal, kind: str, prefix: str | None, outcome: str | None
) -> SandboxScript:
    require(principal, PERMISSION)
    prefix, outcome = validate(kind, prefix, outcome)
    count = await conn.scalar(
        sa.select(sa.func.count()).where(sandbox_scripts.c.account_id == principal.account.id)
    )
    if (count or 0) >= MAX_PER_ACCOUNT:
        raise InvalidInput(f"An account keeps at most {MAX_PER_ACCOUNT} sandbox rules.")
    values = {
        "account_id": principal.account.id,
        "kind": kind,
        "prefix": prefix,
        "outcome": outcome,
        "created_at": int(time.time()),
    }
    row = (
        (await conn.execute(sandbox_scripts.insert().values(values).returning(sandbox_scripts)))
        .mappings()
        .one()
    )
    await _bump(conn)
    return _from_row(row)


async def update_script(
    conn: AsyncConnection,
    principal: Principal,
    script_id: int,
    prefix: str | None,
    outcome: str | None,
) -> SandboxScript:
    """Change a script's prefix and outcome; it keeps its kind and its place."""
    current = await get_script(conn, principal, script_id)
    prefix, outcome = validate(current.kind, prefix, outcome)
    await conn.execute(
        sandbox_scripts.update()
        .where(sandbox_scripts.c.id == script_id)
        .values(prefix=prefix, outcome=outcome)
    )
    await _bump(conn)
    return SandboxScript(current.id, current.kind, prefix, outcome, current.created_at)


async def delete_script(conn: AsyncConnection, principal: Principal, script_id: int) -> None:
    require(principal, PERMISSION)
    deleted = await conn.execute(
        sandbox_scripts.delete().where(
            sandbox_scripts.c.id == script_id,
            sandbox_scripts.c.account_id == principal.account.id,
        )
    )
    if deleted.rowcount == 0:
        raise NotFound(f"Sandbox rule #{script_id} not found.")
    await _bump(conn)
