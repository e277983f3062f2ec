"""message groups

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("group_id", sa.String(length=36), nullable=True))
        batch_op.create_index(
            "ix_messages_group",
            ["group_id"],
            unique=False,
            postgresql_where=sa.text("group_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_group", postgresql_where=sa.text("group_id IS NOT NULL"))
        batch_op.drop_column("group_id")
