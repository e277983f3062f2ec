"""email tables

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_activity",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("from_email", sa.String(length=320), nullable=False),
        sa.Column("to_email", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("api_key_id", sa.String(length=64), nullable=True),
        sa.Column("originating_ip", sa.String(length=64), nullable=True),
        sa.Column("outbound_ip", sa.String(length=64), nullable=True),
        sa.Column("outbound_ip_type", sa.String(length=16), nullable=True),
        sa.Column("teammate", sa.String(length=100), nullable=True),
        sa.Column("asm_group_id", sa.Integer(), nullable=True),
        sa.Column("categories", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("unique_args", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("opens_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("clicks_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_event_time", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_email_activity")),
    )
    with op.batch_alter_table("email_activity", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_activity_account_from", ["account_id", "from_email"], unique=False
        )
        batch_op.create_index(
            "ix_email_activity_account_status",
            ["account_id", "status", "last_event_time"],
            unique=False,
        )
        batch_op.create_index(
            "ix_email_activity_account_time", ["account_id", "last_event_time"], unique=False
        )
        batch_op.create_index(
            "ix_email_activity_account_to", ["account_id", "to_email"], unique=False
        )

    op.create_table(
        "email_activity_args",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", "key", name=op.f("pk_email_activity_args")),
    )
    with op.batch_alter_table("email_activity_args", schema=None) as batch_op:
        batch_op.create_index("ix_email_activity_args_lookup", ["account_id", "key"], unique=False)

    op.create_table(
        "email_activity_categories",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "message_id", "category", name=op.f("pk_email_activity_categories")
        ),
    )
    with op.batch_alter_table("email_activity_categories", schema=None) as batch_op:
        batch_op.create_index(
            "ix_email_activity_categories_lookup", ["account_id", "category"], unique=False
        )

    op.create_table(
        "email_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_addresses")),
    )
    with op.batch_alter_table("email_addresses", schema=None) as batch_op:
        batch_op.create_index("ix_email_addresses_account", ["account_id", "email"], unique=False)

    op.create_table(
        "message_content",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_content")),
    )
    op.create_table(
        "message_payloads",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_message_payloads")),
    )
    op.create_table(
        "suppressions",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "email", name=op.f("pk_suppressions")),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("message_payloads")
    op.drop_table("message_content")
    with op.batch_alter_table("email_addresses", schema=None) as batch_op:
        batch_op.drop_index("ix_email_addresses_account")

    op.drop_table("email_addresses")
    with op.batch_alter_table("email_activity_categories", schema=None) as batch_op:
        batch_op.drop_index("ix_email_activity_categories_lookup")

    op.drop_table("email_activity_categories")
    with op.batch_alter_table("email_activity_args", schema=None) as batch_op:
        batch_op.drop_index("ix_email_activity_args_lookup")

    op.drop_table("email_activity_args")
    with op.batch_alter_table("email_activity", schema=None) as batch_op:
        batch_op.drop_index("ix_email_activity_account_to")
        batch_op.drop_index("ix_email_activity_account_time")
        batch_op.drop_index("ix_email_activity_account_status")
        batch_op.drop_index("ix_email_activity_account_from")

    op.drop_table("email_activity")
