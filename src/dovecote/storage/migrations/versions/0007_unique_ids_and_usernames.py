"""ids of accounts, users and API keys never reused (SQLite); usernames unique in any case

Revision ID: 0007
Revises: 0006

SQLite gives a new row max(id) + 1 unless the table is declared AUTOINCREMENT, so a
deleted user's id went to the next user created, in any account; anything still
holding the old id (the credential cache did) then named a stranger. AUTOINCREMENT
is part of the CREATE TABLE statement, so the three tables are rebuilt. That needs
foreign keys off (env.py turns them off): with them on, dropping the old `accounts`
would cascade-delete every user. PostgreSQL's serial ids never repeat: no rebuild.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Parents first is not needed with foreign keys off; any order rebuilds the same tables.
TABLES = ("accounts", "users", "api_keys")


def upgrade() -> None:
    _refuse_case_duplicates()
    _rebuild_on_sqlite(autoincrement=True)
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    # Before the rebuild: a batch rebuild would drop the expression index anyway.
    op.drop_index("uq_users_username_lower", table_name="users")
    _rebuild_on_sqlite(autoincrement=False)


def _refuse_case_duplicates() -> None:
    """Usernames differing only by case (created by racing requests) would fail the
    unique index with a bare IntegrityError; name them, so an operator can rename."""
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(username) FROM users GROUP BY lower(username) HAVING count(*) > 1"
            )
        )
        .scalars()
        .all()
    )
    if duplicates:
        raise RuntimeError(
            "usernames differing only by case must be renamed before this migration "
            f"(`dovecote` logins are case-insensitive): {', '.join(sorted(duplicates))}"
        )


def _rebuild_on_sqlite(*, autoincrement: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError(
            "SQLite foreign keys are on, and rebuilding `accounts` would cascade-delete "
            "every user: run migrations with `dovecote migrate`, which turns them off"
        )
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass
    broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by the rebuild: {broken}")
