"""Reseller clients, referral and template images

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resellers",
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("subdomain", sa.String(63), nullable=True, unique=True),
        sa.Column("company_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("colour_navigation", sa.String(16), nullable=False, server_default=""),
        sa.Column("logo_url_light", sa.String(2000), nullable=False, server_default=""),
        sa.Column("logo_url_dark", sa.String(2000), nullable=False, server_default=""),
        sa.Column("allow_public_signups", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("default_margin_bp", sa.Integer, nullable=False, server_default="0"),
        sa.Column("default_margin_numbers_bp", sa.Integer, nullable=False, server_default="0"),
        sa.Column("trial_balance_micros", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "reseller_clients",
        sa.Column(
            "client_account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column(
            "reseller_account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("public_signup", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_reseller_clients_reseller",
        "reseller_clients",
        ["reseller_account_id", "client_account_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_reseller_clients_reseller", table_name="reseller_clients")
    op.drop_table("reseller_clients")
    op.drop_table("resellers")
