"""Cross-process state: connector health shared by every worker process

Revision ID: 0027
Revises: 0026

Until now each worker kept connector health in memory: a connector one worker found
dead was still tried by every other worker, and `/metrics` of one process showed only
its own view. One row per connector (`pipeline/routing/health.py` reads and writes it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connector_health",
        sa.Column("connector", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("down_until", sa.Float, nullable=False, server_default="0"),
        sa.Column("downs", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("last_failure_at", sa.Float, nullable=True),
        sa.Column("sent", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("delivered", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("failed", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("expired", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("deferred", sa.BigInteger, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("connector_health")
