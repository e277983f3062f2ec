"""The migrations build exactly the schema that `storage/tables.py` describes, on both backends."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from dovecote.storage.db import create_engine
from dovecote.storage.migrate import alembic_config, upgrade
from dovecote.storage.tables import accounts, api_keys, metadata, users


def _differences(sync: sa.Connection) -> list[Any]:
    context = MigrationContext.configure(sync, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _predicate(where: object) -> str | None:
    """A partial index's WHERE, spelled so that the declared and the reflected one compare
    equal: PostgreSQL gives it back with casts and parentheses of its own."""
    return None if where is None else re.sub(r"::\w+|[()\s]", "", str(where)).lower()


def _declared_predicates(dialect: sa.Dialect) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for table in metadata.tables.values():
        for index in table.indexes:
            where = index.dialect_options[dialect.name]["where"]
            if where is not None:
                kwargs = {"literal_binds": True, "include_table": False}
                where = where.compile(dialect=dialect, compile_kwargs=kwargs)
            found[str(index.name)] = _predicate(where)
    return found


def _reflected_predicates(sync: sa.Connection) -> dict[str, str | None]:
    inspector = sa.inspect(sync)
    return {
        str(index["name"]): _predicate(index["dialect_options"].get(f"{sync.dialect.name}_where"))
        for table in metadata.tables
        for index in inspector.get_indexes(table)
    }


def _state(sync: sa.Connection) -> tuple[str | None, set[str]]:
    revision = MigrationContext.configure(sync).get_current_revision()
    return revision, set(sa.inspect(sync).get_table_names())


async def _run(engine: AsyncEngine, work: Any) -> Any:
    async with engine.begin() as conn:
        return await conn.run_sync(work)


async def test_the_migrated_schema_matches_the_table_definitions(database_url: str) -> None:
    engine = create_engine(database_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    try:
        await upgrade(engine)  # the per-test database is a copy of a migrated template
        revision, tables = await _run(engine, _state)
        differences = await _run(engine, _differences)
    finally:
        await engine.dispose()

    assert revision == head
    assert set(metadata.tables) <= tables
    assert differences == []


async def test_the_migrated_indexes_are_partial_where_the_table_definitions_say(
    database_url: str,
) -> None:
    """Alembic's comparison above does not look at a partial index's WHERE."""
    engine = create_engine(database_url)
    try:
        reflected = await _run(engine, _reflected_predicates)
        declared = _declared_predicates(engine.dialect)
    finally:
        await engine.dispose()

    partial = {name for name, where in declared.items() if where is not None}
    assert "ix_messages_due" in partial  # partial on both databases
    assert partial <= set(reflected)
    both = set(reflected) & set(declared)  # not unique constraints (indexes on PostgreSQL)
    assert {name: reflected[name] for name in both} == {name: declared[name] for name in both}


async def test_the_migrations_go_down_to_nothing_and_up_again(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await _run(engine, lambda sync: command.downgrade(alembic_config(sync), "base"))
        revision_down, tables_down = await _run(engine, _state)
        await upgrade(engine)
        differences = await _run(engine, _differences)
    finally:
        await engine.dispose()

    assert revision_down is None
    assert tables_down <= {"alembic_version"}
    assert differences == []


async def test_0029_goes_down_to_full_indexes_on_sqlite_and_up_to_partial_ones_again(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await _run(engine, lambda sync: command.downgrade(alembic_config(sync), "0028"))
        down = await _run(engine, _reflected_predicates)
        await upgrade(engine)
        up = await _run(engine, _reflected_predicates)
        declared = _declared_predicates(engine.dialect)
    finally:
        await engine.dispose()

    rebuilt = ["ix_messages_due", "ix_messages_group", "ix_messages_transport_ref"]
    rebuilt += ["ix_webhook_deliveries_due", "ix_sms_campaigns_due"]
    if engine.dialect.name == "sqlite":
        assert [down[name] for name in rebuilt] == [None] * len(rebuilt)
        assert [up[name] for name in rebuilt] == [declared[name] for name in rebuilt]
        assert None not in [up[name] for name in rebuilt]
    else:
        assert down == up  # PostgreSQL's were partial already (its transport_ref: full)


async def _at_0006_with_rows(engine: AsyncEngine, *usernames: str) -> None:
    """Migrate down to 0006 and add an account with `usernames`, each with a key."""
    await _run(engine, lambda sync: command.downgrade(alembic_config(sync), "0006"))
    async with engine.begin() as conn:
        account_id = (
            await conn.execute(
                accounts.insert().values(name="before 0007", created_at=0).returning(accounts.c.id)
            )
        ).scalar_one()
        for n, username in enumerate(usernames):
            user_id = (
                await conn.execute(
                    users.insert()
                    .values(
                        account_id=account_id, username=username, password_hash="!", created_at=0
                    )
                    .returning(users.c.id)
                )
            ).scalar_one()
            await conn.execute(
                api_keys.insert().values(user_id=user_id, key_hash=f"{n}", created_at=0)
            )


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {
            table.name: (
                await conn.execute(sa.select(sa.func.count()).select_from(table))
            ).scalar_one()
            for table in (accounts, users, api_keys)
        }


async def test_0007_keeps_every_row_and_ids_of_deleted_users_and_keys_never_come_back(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await _at_0006_with_rows(engine, "first", "second")
        before = await _counts(engine)
        await upgrade(engine)  # on SQLite: accounts, users and api_keys are rebuilt
        after = await _counts(engine)
        async with engine.begin() as conn:
            account_id = (await conn.execute(sa.select(sa.func.max(accounts.c.id)))).scalar_one()

            async def new_user(username: str) -> tuple[int, int]:
                user_id = (
                    await conn.execute(
                        users.insert()
                        .values(
                            account_id=account_id,
                            username=username,
                            password_hash="!",
                            created_at=0,
                        )
                        .returning(users.c.id)
                    )
                ).scalar_one()
                key_id = (
                    await conn.execute(
                        api_keys.insert()
                        .values(user_id=user_id, key_hash=username, created_at=0)
                        .returning(api_keys.c.id)
                    )
                ).scalar_one()
                return user_id, key_id

            deleted = await new_user("deleted")
            await conn.execute(users.delete().where(users.c.id == deleted[0]))
            cascaded = (
                await conn.execute(sa.select(api_keys.c.id).where(api_keys.c.id == deleted[1]))
            ).all()
            successor = await new_user("successor")
    finally:
        await engine.dispose()

    assert after == before  # the rebuild (with foreign keys on, a cascade) lost nothing
    assert cascaded == []  # ... and foreign keys are enforced again afterwards
    assert successor[0] > deleted[0]
    assert successor[1] > deleted[1]


async def test_usernames_are_unique_whatever_their_case(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            account_id = (
                await conn.execute(
                    accounts.insert().values(name="a", created_at=0).returning(accounts.c.id)
                )
            ).scalar_one()
            row = {"account_id": account_id, "password_hash": "!", "created_at": 0}
            await conn.execute(users.insert().values(username="Case0x", **row))
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(users.insert().values(username="cASE0X", **row))
    finally:
        await engine.dispose()


async def test_0007_names_usernames_that_differ_only_by_case_instead_of_failing_bare(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await _at_0006_with_rows(engine, "twin", "TWIN")
        with pytest.raises(RuntimeError, match="twin"):
            await upgrade(engine)
    finally:
        await engine.dispose()
