"""Alarm evaluation state: what the alarm engine has seen and raised, per rule, place and probe."""

from __future__ import annotations

from traceability.records.database import Database


class AlarmStateRecords(Database):
    """Alarm evaluation state."""
