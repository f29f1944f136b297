"""The audit trail in the records database (issue #17)."""

from __future__ import annotations

from traceability.records.database import Database


class AuditRecords(Database):
    """Append-only audit entries (``traceability.audit``)."""
