"""Incidents and their lifecycle steps, as the records keep them for queries (the signed steps are ledger records)."""

from __future__ import annotations

from traceability.records.database import Database


class IncidentRecords(Database):
    """Incidents and their lifecycle steps, as the records keep them for queries (the signed steps are ledger records).."""
