"""The audit trail's tables (migration 0012, issue #17), part of the records schema
(``traceability.records.schema`` re-exports them: import them from there).
"""

from __future__ import annotations

from traceability.records.metadata import metadata

__all__ = ["metadata"]
