"""Connectors and routes for delivery with failover

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("transport", sa.String(32), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("throughput", sa.Float, nullable=False, server_default="0"),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "routes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("prefix", sa.String(32), nullable=False, server_default=""),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("sender", sa.String(320), nullable=True),
        sa.Column("account_id", sa.Integer, nullable=True),
        sa.Column("priority", sa.Integer, nullable=False, server_default="0"),
        sa.Column("connectors", sa.JSON, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "routing_version",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "message_connectors",
        sa.Column("message_id", sa.String(36), primary_key=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("transport_ref", sa.String(200), nullable=True),
        sa.Column("accepted_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_message_connectors_ref", "message_connectors", ["transport_ref"])
    op.create_table(
        "route_prices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("price_micros", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("connector", "channel", "prefix", "currency", name="uq_route_prices"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("route_prices")
    op.drop_index("ix_message_connectors_ref", table_name="message_connectors")
    op.drop_table("message_connectors")
    op.drop_table("routing_version")
    op.drop_table("routes")
    op.drop_table("connectors")
