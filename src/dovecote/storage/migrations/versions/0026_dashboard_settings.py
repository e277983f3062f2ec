"""Dashboard settings: what the settings pages need stored (sandbox outcomes editable at runtime)

Revision ID: 0026
Revises: 0025

Each account's scripted sandbox outcomes (`prefix=outcome` rules and `prefix=text`
auto-replies), ahead of the `DOVECOTE_SANDBOX_RULES` / `_AUTO_REPLIES` settings. Every
change bumps the one-row version, so workers reread the scripts only when it moves (one
indexed read per refresh interval, none per message).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_scripts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("prefix", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(1000), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Index("ix_sandbox_scripts_account", "account_id", "kind"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sandbox_scripts_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sandbox_scripts_version")
    op.drop_table("sandbox_scripts")
