"""Email campaigns

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(998), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("from_email_address_id", sa.Integer(), nullable=False),
        sa.Column("from_name", sa.String(200), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("schedule", sa.BigInteger(), nullable=True),
        sa.Column("custom_string", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("max_contact_id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queued", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opted_out", sa.Integer(), server_default="0", nullable=False),
        sa.Column("refused", sa.Integer(), server_default="0", nullable=False),
        sa.Column("price_micros", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("due_at", sa.Float(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_email_campaigns"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_email_campaigns_account", "email_campaigns", ["account_id", "id"])
    op.create_index(
        "ix_email_campaigns_due",
        "email_campaigns",
        ["due_at"],
        postgresql_where=sa.text("due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_email_campaigns_due", "email_campaigns")
    op.drop_index("ix_email_campaigns_account", "email_campaigns")
    op.drop_table("email_campaigns")
