"""Ledger, payments, recharge transactions and currencies

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("amount_micros", sa.BigInteger, nullable=False),
        sa.Column("balance_after_micros", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_ledger_entries_account", "ledger_entries", ["account_id", "id"])
    op.create_table(
        "payment_cards",
        sa.Column("account_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("token", sa.String(200), nullable=False),
        sa.Column("last4", sa.String(4), nullable=False),
        sa.Column("brand", sa.String(32), nullable=False),
        sa.Column("expiry_month", sa.Integer, nullable=False),
        sa.Column("expiry_year", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("bank_name", sa.String(200), nullable=False, server_default=""),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "recharge_transactions",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("package_id", sa.Integer, nullable=False),
        sa.Column("amount_micros", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("charge_id", sa.String(200), nullable=False),
        sa.Column("card_last4", sa.String(4), nullable=False),
        sa.Column("card_brand", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_recharge_transactions_account", "recharge_transactions", ["account_id", "created_at"]
    )
    # Balances from before the ledger become one opening entry each, so balance = Σ ledger
    # holds for old accounts too.
    op.execute(
        sa.text(
            "INSERT INTO ledger_entries (account_id, amount_micros, balance_after_micros,"
            " currency, kind, reference, created_at)"
            " SELECT id, balance_micros, balance_micros, currency, 'opening',"
            " 'balance before the ledger', :now FROM accounts WHERE balance_micros <> 0"
        ).bindparams(now=int(time.time()))
    )


def downgrade() -> None:
    op.drop_index("ix_recharge_transactions_account", table_name="recharge_transactions")
    op.drop_table("recharge_transactions")
    op.drop_table("payment_cards")
    op.drop_index("ix_ledger_entries_account", table_name="ledger_entries")
    op.drop_table("ledger_entries")
