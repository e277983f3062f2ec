"""Voice and fax channels

No schema change: calls and faxes are `messages` rows (channel `voice` / `fax`), their
options (language, voice, input flags; the document's key and page count) are
`message_payloads`, and their files (WAV, PDF, TIFF, PNG pages) live in the file store
under keys derived from the message id. The revision stays so the chain of revisions
after 0012 holds.

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
