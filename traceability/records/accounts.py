"""Operator accounts in the records database (issue #17)."""

from __future__ import annotations

from traceability.records.database import Database


class AccountRecords(Database):
    """Users, their roles and login events (``traceability.accounts``)."""
