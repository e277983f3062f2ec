"""MMS campaigns, short links and their clicks

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_CAMPAIGN_COLUMNS = ("channel", "subject", "media_url", "media_key", "media_type", "media_size")


def upgrade() -> None:
    with op.batch_alter_table("sms_campaigns") as batch:
        batch.add_column(sa.Column("channel", sa.String(8), nullable=False, server_default="sms"))
        batch.add_column(sa.Column("subject", sa.String(200), nullable=True))
        batch.add_column(sa.Column("media_url", sa.Text(), nullable=True))
        batch.add_column(sa.Column("media_key", sa.String(200), nullable=True))
        batch.add_column(sa.Column("media_type", sa.String(64), nullable=True))
        batch.add_column(sa.Column("media_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("url_to_shorten", sa.Text(), nullable=True))
    op.create_table(
        "short_urls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("long_url", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_short_urls"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_short_urls_source", "short_urls", ["account_id", "source", "source_id"])
    op.create_table(
        "short_links",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("long_url_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.String(64), nullable=True),
        sa.Column("clicks", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("first_clicked_at", sa.BigInteger(), nullable=True),
        sa.Column("last_clicked_at", sa.BigInteger(), nullable=True),
        sa.Column("user_device", sa.String(32), nullable=True),
        sa.Column("user_browser", sa.String(32), nullable=True),
        sa.Column("user_os", sa.String(32), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_short_links"),
    )
    op.create_index("ix_short_links_url", "short_links", ["long_url_id", "code"])


def downgrade() -> None:
    op.drop_index("ix_short_links_url", table_name="short_links")
    op.drop_table("short_links")
    op.drop_index("ix_short_urls_source", table_name="short_urls")
    op.drop_table("short_urls")
    with op.batch_alter_table("sms_campaigns") as batch:
        for name in (*_CAMPAIGN_COLUMNS, "url_to_shorten"):
            batch.drop_column(name)
