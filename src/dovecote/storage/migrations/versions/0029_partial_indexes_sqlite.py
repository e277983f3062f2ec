"""Partial indexes on SQLite too: the NULL rows of queue, group and reference columns left out

Revision ID: 0029
Revises: 0028

The indexes of `due_at` (every table used as a queue) and of `messages.group_id` were
partial on PostgreSQL only (`WHERE … IS NOT NULL`): SQLite indexed every row, a NULL
entry for each finished row and for each SMS (only an email's later recipients have a
group), written by every insert. They are rebuilt partial on SQLite, and so is
`ix_messages_transport_ref` (NULL until a transport takes the message), which stays full
on PostgreSQL: made partial there it measured no difference (bench/README.md, session 7),
and rebuilding it would hold the writes to `messages` for the length of the build. Every
query that uses these indexes implies the predicate (`= ?`, `<= ?`, `IN`), so the planner
keeps them (tests/storage/test_index_plans.py). PostgreSQL is not touched.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# (index, table, column), each rebuilt as `ON table (column) WHERE column IS NOT NULL`.
_INDEXES = (
    ("ix_messages_due", "messages", "due_at"),
    ("ix_messages_group", "messages", "group_id"),
    ("ix_messages_transport_ref", "messages", "transport_ref"),
    ("ix_activity_exports_due", "activity_exports", "due_at"),
    ("ix_webhook_deliveries_due", "webhook_deliveries", "due_at"),
    ("ix_automation_actions_due", "automation_actions", "due_at"),
    ("ix_contact_imports_due", "contact_imports", "due_at"),
    ("ix_sms_campaigns_due", "sms_campaigns", "due_at"),
    ("ix_email_campaigns_due", "email_campaigns", "due_at"),
)


def _rebuild(*, partial: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, table, column in _INDEXES:
        where = sa.text(f"{column} IS NOT NULL") if partial else None
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], sqlite_where=where)


def upgrade() -> None:
    _rebuild(partial=True)


def downgrade() -> None:
    _rebuild(partial=False)
