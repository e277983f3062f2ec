"""Numbers, sender IDs and email-to-SMS

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column[int]]:
    return [
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("number_type", sa.String(16), nullable=False),
        sa.Column("capabilities", sa.String(64), nullable=False, server_default="sms"),
        sa.Column("price_monthly_micros", sa.BigInteger(), nullable=False),
        sa.Column("connector", sa.String(64), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("registration", sa.String(32), nullable=False, server_default="NOT_REQUIRED"),
        sa.Column("purchased_at", sa.BigInteger(), nullable=True),
        sa.Column("paid_until", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_numbers"),
        sa.UniqueConstraint("number", name="uq_numbers_number"),
    )
    op.create_index("ix_numbers_account", "numbers", ["account_id"])
    op.create_index("ix_numbers_country", "numbers", ["country", "number"])
    op.create_index("ix_numbers_paid_until", "numbers", ["paid_until"])
    op.create_table(
        "own_numbers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone_number", sa.String(32), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("label", sa.String(100), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verified_at", sa.BigInteger(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_own_numbers"),
        sa.UniqueConstraint("account_id", "phone_number", name="uq_own_numbers_account_number"),
    )
    op.create_table(
        "own_number_verifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("own_number_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("remaining_attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(36), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_own_number_verifications"),
    )
    op.create_index(
        "ix_own_number_verifications_own_number", "own_number_verifications", ["own_number_id"]
    )
    op.create_table(
        "alpha_tags",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("alpha_tag", sa.String(11), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("countries", sa.JSON(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_alpha_tags"),
        sa.UniqueConstraint("account_id", "alpha_tag", name="uq_alpha_tags_account_tag"),
    )
    op.create_table(
        "default_senders",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("country_code", sa.String(2), nullable=False),
        sa.Column("product_type", sa.String(8), nullable=False),
        sa.Column("strategies", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name="pk_default_senders"),
        sa.UniqueConstraint(
            "account_id",
            "country_code",
            "product_type",
            name="uq_default_senders_account_country",
        ),
    )
    op.create_table(
        "email_sms_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email_address", sa.String(320), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_email_sms_addresses"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_email_sms_addresses_address", "email_sms_addresses", ["email_address"])
    op.create_index("ix_email_sms_addresses_account", "email_sms_addresses", ["account_id"])
    op.create_table(
        "email_sms_stripped_strings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("strip_string", sa.String(500), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_email_sms_stripped_strings"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_email_sms_stripped_strings_account", "email_sms_stripped_strings", ["account_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_email_sms_stripped_strings_account", "email_sms_stripped_strings")
    op.drop_table("email_sms_stripped_strings")
    op.drop_index("ix_email_sms_addresses_account", "email_sms_addresses")
    op.drop_index("ix_email_sms_addresses_address", "email_sms_addresses")
    op.drop_table("email_sms_addresses")
    op.drop_table("default_senders")
    op.drop_table("alpha_tags")
    op.drop_index("ix_own_number_verifications_own_number", "own_number_verifications")
    op.drop_table("own_number_verifications")
    op.drop_table("own_numbers")
    op.drop_index("ix_numbers_paid_until", "numbers")
    op.drop_index("ix_numbers_country", "numbers")
    op.drop_index("ix_numbers_account", "numbers")
    op.drop_table("numbers")
