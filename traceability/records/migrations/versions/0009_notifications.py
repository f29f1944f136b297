"""The notification outbox: what is to be sent to whom and when, and what was (issue #16).

Revision ID: 0009
"""

from __future__ import annotations

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
