"""The audit trail (issue #17): who changed what, when, before and after, and why.

Revision ID: 0012
"""

from __future__ import annotations

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
