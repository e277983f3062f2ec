"""HTTP providers: pushed receipts and secrets kept encrypted

Revision ID: 0028
Revises: 0027

`provider_receipts` queues the receipts an http connector's upstream pushes. Connector
secrets need no schema change: they stay in `connectors.settings`, sealed. A migration
has no settings (so no key), so existing clear values are sealed at the next start-up
(`bootstrap.prepare` → `routing.store.reseal_all`), which also reads them meanwhile.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "provider_receipts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("upstream_id", sa.String(200), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("error_text", sa.Text, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
    )
    op.create_index("ix_provider_receipts_state", "provider_receipts", ["state", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_provider_receipts_state", table_name="provider_receipts")
    op.drop_table("provider_receipts")
