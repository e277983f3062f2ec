"""email address activation tokens expire: when each token was issued

Revision ID: 0008
Revises: 0006

Rows that hold a token from before this migration get no issue time, and such a token
counts as expired: the address's owner asks for a fresh verification email.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite a batch rebuilds the table and would lose
# the expression index `uq_email_addresses_account_email` (0005), which it cannot
# reflect. SQLite adds (and, since 3.35, drops) a column in place.


def upgrade() -> None:
    op.add_column("email_addresses", sa.Column("token_issued_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("email_addresses", "token_issued_at")
