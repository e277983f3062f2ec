"""Post letters, postcards, return addresses and direct mail

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _address() -> list[sa.Column[object]]:
    return [
        sa.Column("address_name", sa.String(200), nullable=False),
        sa.Column("address_line_1", sa.String(200), nullable=False),
        sa.Column("address_line_2", sa.String(200), nullable=False, server_default=""),
        sa.Column("address_city", sa.String(100), nullable=False),
        sa.Column("address_state", sa.String(100), nullable=False, server_default=""),
        sa.Column("address_postal_code", sa.String(20), nullable=False),
        sa.Column("address_country", sa.String(2), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "post_return_addresses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        *_address(),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_post_return_addresses_account", "post_return_addresses", ["account_id", "id"]
    )
    op.create_table(
        "post_items",
        sa.Column("message_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        *_address(),
        sa.Column("return_address_id", sa.Integer, nullable=True),
        sa.Column("colour", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("duplex", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("priority_post", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("file_key", sa.String(200), nullable=False),
        sa.Column("back_key", sa.String(200), nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "post_direct_mail_campaigns",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("size", sa.String(8), nullable=False),
        sa.Column("file_keys", sa.JSON, nullable=False),
        sa.Column("areas", sa.JSON, nullable=False),
        sa.Column("total_quantity", sa.Integer, nullable=False),
        sa.Column("price_micros", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("schedule", sa.BigInteger, nullable=True),
        sa.Column("custom_string", sa.Text, nullable=True),
        sa.Column("source", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_post_direct_mail_campaigns_account",
        "post_direct_mail_campaigns",
        ["account_id", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_post_direct_mail_campaigns_account", table_name="post_direct_mail_campaigns")
    op.drop_table("post_direct_mail_campaigns")
    op.drop_table("post_items")
    op.drop_index("ix_post_return_addresses_account", table_name="post_return_addresses")
    op.drop_table("post_return_addresses")
