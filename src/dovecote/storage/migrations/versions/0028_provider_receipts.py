"""HTTP providers: pushed receipts and secrets kept encrypted

Revision ID: 0028
Revises: 0027

`provider_receipts` queues the receipts an http connector's upstream pushes. Secrets are
sealed where they are (`core.sealing`): connector settings need no schema change, and the
webhook signing secrets' columns are widened to hold a sealed value. A migration has no
settings (so no key): existing clear values are sealed at the next start-up
(`bootstrap.prepare`), and read as clear until then.
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
    with op.batch_alter_table("webhook_secrets") as batch:
        for column in ("secret", "previous_secret"):
            batch.alter_column(column, type_=sa.String(255), existing_type=sa.String(80))


def downgrade() -> None:
    # Sealed values do not fit the old width: a downgrade needs them opened first, which a
    # migration cannot do (no key). Widths are left as they are; nothing else depends on them.
    op.drop_index("ix_provider_receipts_state", table_name="provider_receipts")
    op.drop_table("provider_receipts")
