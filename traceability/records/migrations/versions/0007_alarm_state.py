"""Alarm evaluation state: per rule, place and probe, what the hub has seen and raised (issue #16).

Revision ID: 0007
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
