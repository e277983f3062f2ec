"""SendGrid dynamic templates and their versions

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dynamic_templates",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("generation", sa.String(16), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dynamic_templates"),
    )
    op.create_index(
        "ix_dynamic_templates_account", "dynamic_templates", ["account_id", "created_at"]
    )
    op.create_table(
        "dynamic_template_versions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("template_id", sa.String(36), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("html_content", sa.Text(), nullable=False),
        sa.Column("plain_content", sa.Text(), nullable=False),
        sa.Column("generate_plain_content", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("editor", sa.String(16), nullable=False),
        sa.Column("test_data", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dynamic_template_versions"),
    )
    op.create_index(
        "ix_dynamic_template_versions_template",
        "dynamic_template_versions",
        ["template_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_dynamic_template_versions_template", "dynamic_template_versions")
    op.drop_table("dynamic_template_versions")
    op.drop_index("ix_dynamic_templates_account", "dynamic_templates")
    op.drop_table("dynamic_templates")
