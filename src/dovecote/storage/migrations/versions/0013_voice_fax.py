"""Voice and fax channels

No schema change: calls are `messages` rows (channel `voice`), their options (language,
voice, input flags) are `message_payloads`, and their files (the sandbox's WAVs) live in
the file store under keys derived from the message id. The revision stays so the
chain of revisions after 0012 holds.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # nothing to create: see the docstring


def downgrade() -> None:
    pass
