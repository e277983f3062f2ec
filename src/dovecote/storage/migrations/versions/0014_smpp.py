"""SMPP: receipts matched by transport_ref, deliver_sm PDUs held for later

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_transport_ref", "messages", ["transport_ref"])
    op.create_table(
        "smpp_deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("smsc_message_id", sa.String(length=128), nullable=True),
        sa.Column("stat", sa.String(length=16), nullable=True),
        sa.Column("err", sa.String(length=16), nullable=True),
        sa.Column("sender", sa.String(length=32), nullable=True),
        sa.Column("recipient", sa.String(length=32), nullable=True),
        sa.Column("body", sa.Text(), server_default="", nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smpp_deliveries")),
    )
    op.create_index("ix_smpp_deliveries_state", "smpp_deliveries", ["state", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_smpp_deliveries_state", table_name="smpp_deliveries")
    op.drop_table("smpp_deliveries")
    op.drop_index("ix_messages_transport_ref", table_name="messages")
