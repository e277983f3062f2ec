"""Dashboard sessions; the indexes behind its Messages list, number search and replies

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("password_check", sa.String(64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_dashboard_sessions_user_id_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name="pk_dashboard_sessions"),
    )
    op.create_index("ix_dashboard_sessions_user", "dashboard_sessions", ["user_id"])
    op.create_index("ix_dashboard_sessions_expires", "dashboard_sessions", ["expires_at"])
    op.create_index(
        "ix_messages_account_created_id", "messages", ["account_id", "created_at", "id"]
    )
    inbound = sa.text("direction = 'in'")
    op.create_index(
        "ix_messages_inbound_sender",
        "messages",
        ["account_id", "sender"],
        sqlite_where=inbound,
        postgresql_where=inbound,
    )
    replies = sa.text("original_message_id IS NOT NULL")
    op.create_index(
        "ix_messages_original",
        "messages",
        ["original_message_id"],
        sqlite_where=replies,
        postgresql_where=replies,
    )


def downgrade() -> None:
    op.drop_index("ix_messages_original", table_name="messages")
    op.drop_index("ix_messages_inbound_sender", table_name="messages")
    op.drop_index("ix_messages_account_created_id", table_name="messages")
    op.drop_table("dashboard_sessions")
