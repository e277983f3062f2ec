"""Alembic environment: always runs on a connection handed in by `storage.migrate`."""

from __future__ import annotations

from alembic import context

from dovecote.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `dovecote migrate`, which supplies the connection")

if connection.dialect.name == "sqlite":
    # Rebuilding a table on SQLite (batch mode: create a copy, drop the old one) with
    # foreign keys on would cascade the drop to every child row. This runs before
    # Alembic writes anything, so no transaction is open yet and the pragma takes
    # effect; `storage.migrate.upgrade` turns foreign keys back on afterwards.
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
