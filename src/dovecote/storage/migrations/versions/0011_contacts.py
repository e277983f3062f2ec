"""Contact lists, contacts, opt-outs, imports and SMS campaigns

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email_id", sa.String(16), nullable=False),
        sa.Column("is_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contact_lists"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_contact_lists_account", "contact_lists", ["account_id", "id"])
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("phone_number", sa.String(32), nullable=True),
        sa.Column("fax_number", sa.String(32), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("first_name", sa.String(255), nullable=True),
        sa.Column("last_name", sa.String(255), nullable=True),
        sa.Column("custom_1", sa.Text(), nullable=True),
        sa.Column("custom_2", sa.Text(), nullable=True),
        sa.Column("custom_3", sa.Text(), nullable=True),
        sa.Column("custom_4", sa.Text(), nullable=True),
        sa.Column("organization_name", sa.String(255), nullable=True),
        sa.Column("address_line_1", sa.String(255), nullable=True),
        sa.Column("address_line_2", sa.String(255), nullable=True),
        sa.Column("address_city", sa.String(255), nullable=True),
        sa.Column("address_state", sa.String(255), nullable=True),
        sa.Column("address_postal_code", sa.String(32), nullable=True),
        sa.Column("address_country", sa.String(2), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contacts"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_contacts_list", "contacts", ["list_id", "id"])
    op.create_index("ix_contacts_account_phone", "contacts", ["account_id", "phone_number"])
    op.create_table(
        "contact_imports",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("file_key", sa.String(255), nullable=False),
        sa.Column("file_type", sa.String(8), nullable=False),
        sa.Column("field_order", sa.JSON(), nullable=False),
        sa.Column("dedupe", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_row", sa.Integer(), server_default="0", nullable=False),
        sa.Column("imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("refused", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicates", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contact_imports"),
    )
    op.create_index(
        "ix_contact_imports_due",
        "contact_imports",
        ["due_at"],
        postgresql_where=sa.text("due_at IS NOT NULL"),
    )
    op.create_index("ix_contact_imports_list", "contact_imports", ["list_id"])
    op.create_table(
        "contact_import_errors",
        sa.Column("import_id", sa.String(36), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("import_id", "row_number", name="pk_contact_import_errors"),
    )
    op.create_table(
        "sms_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sender", sa.String(64), server_default="", nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("schedule", sa.BigInteger(), nullable=True),
        sa.Column("custom_string", sa.Text(), nullable=True),
        sa.Column("source", sa.String(100), nullable=True),
        sa.Column("senders", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("max_contact_id", sa.Integer(), nullable=False),
        sa.Column("cursor", sa.Integer(), server_default="0", nullable=False),
        sa.Column("queued", sa.Integer(), server_default="0", nullable=False),
        sa.Column("opted_out", sa.Integer(), server_default="0", nullable=False),
        sa.Column("refused", sa.Integer(), server_default="0", nullable=False),
        sa.Column("price_micros", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("due_at", sa.Float(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("ip_address", sa.String(64), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sms_campaigns"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sms_campaigns_account", "sms_campaigns", ["account_id", "id"])
    op.create_index(
        "ix_sms_campaigns_due",
        "sms_campaigns",
        ["due_at"],
        postgresql_where=sa.text("due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_sms_campaigns_due", "sms_campaigns")
    op.drop_index("ix_sms_campaigns_account", "sms_campaigns")
    op.drop_table("sms_campaigns")
    op.drop_table("contact_import_errors")
    op.drop_index("ix_contact_imports_list", "contact_imports")
    op.drop_index("ix_contact_imports_due", "contact_imports")
    op.drop_table("contact_imports")
    op.drop_index("ix_contacts_account_phone", "contacts")
    op.drop_index("ix_contacts_list", "contacts")
    op.drop_table("contacts")
    op.drop_index("ix_contact_lists_account", "contact_lists")
    op.drop_table("contact_lists")
