"""indexes for subaccount activity listings, retention deletes, unique sender addresses

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_email_activity_account_user_time",
        "email_activity",
        ["account_id", "user_id", "last_event_time"],
    )
    op.create_index("ix_events_channel_time", "events", ["channel", "occurred_at"])
    op.create_index(
        "uq_email_addresses_account_email",
        "email_addresses",
        ["account_id", sa.text("lower(email)")],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_email_addresses_account_email", table_name="email_addresses")
    op.drop_index("ix_events_channel_time", table_name="events")
    op.drop_index("ix_email_activity_account_user_time", table_name="email_activity")
