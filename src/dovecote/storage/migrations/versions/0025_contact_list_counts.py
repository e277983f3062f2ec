"""A contact list's size kept by the database: `contact_lists.contacts_count`

Revision ID: 0025
Revises: 0024

Counting a list's contacts on every page of it is a scan of the whole list (~50 ms for a
million contacts); ClickSend's answers carry that count on every list and contact page.
Triggers keep the count in the same statement as the insert, delete or move, whatever
code path makes it (API, imports, copy/transfer, de-duplication), so it cannot drift.
The price: one counter update per contact written, serialising writers of one list on
its row (they already contend on the list's index pages).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_SQLITE = (
    """CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts BEGIN
        UPDATE contact_lists SET contacts_count = contacts_count + 1 WHERE id = NEW.list_id;
    END""",
    """CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts BEGIN
        UPDATE contact_lists SET contacts_count = contacts_count - 1 WHERE id = OLD.list_id;
    END""",
    """CREATE TRIGGER contacts_count_move AFTER UPDATE OF list_id ON contacts
    WHEN NEW.list_id <> OLD.list_id BEGIN
        UPDATE contact_lists SET contacts_count = contacts_count - 1 WHERE id = OLD.list_id;
        UPDATE contact_lists SET contacts_count = contacts_count + 1 WHERE id = NEW.list_id;
    END""",
)

# PostgreSQL: statement-level triggers with transition tables, so an import's batch of
# 1,000 rows costs one UPDATE per list touched, not one per row.
_POSTGRES = (
    """CREATE FUNCTION contacts_count_added() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE contact_lists l SET contacts_count = l.contacts_count + n.added
        FROM (SELECT list_id, count(*) AS added FROM new_rows GROUP BY list_id) n
        WHERE l.id = n.list_id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION contacts_count_removed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE contact_lists l SET contacts_count = l.contacts_count - o.removed
        FROM (SELECT list_id, count(*) AS removed FROM old_rows GROUP BY list_id) o
        WHERE l.id = o.list_id;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION contacts_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE contact_lists l SET contacts_count = l.contacts_count + d.delta
        FROM (
            SELECT list_id, sum(delta) AS delta FROM (
                SELECT list_id, -1 AS delta FROM old_rows
                UNION ALL SELECT list_id, 1 FROM new_rows
            ) moves GROUP BY list_id
        ) d
        WHERE l.id = d.list_id AND d.delta <> 0;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION contacts_count_added()""",
    """CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT
    EXECUTE FUNCTION contacts_count_removed()""",
    """CREATE TRIGGER contacts_count_move AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION contacts_count_moved()""",
)


def upgrade() -> None:
    op.add_column(
        "contact_lists",
        sa.Column("contacts_count", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE contact_lists SET contacts_count = "
        "(SELECT count(*) FROM contacts WHERE contacts.list_id = contact_lists.id)"
    )
    for statement in _POSTGRES if op.get_bind().dialect.name == "postgresql" else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in ("contacts_count_insert", "contacts_count_delete", "contacts_count_move"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON contacts" if postgresql else ""))
    if postgresql:
        for name in ("contacts_count_added", "contacts_count_removed", "contacts_count_moved"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    with op.batch_alter_table("contact_lists") as batch:
        batch.drop_column("contacts_count")
