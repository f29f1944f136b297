"""Capture jobs of the EPCIS REST binding (``POST /capture``): the document kept until it
is processed, then the job's outcome (errors and warnings per event).

(Scaffold of issue #15's capture-jobs slice.)
"""

from __future__ import annotations

from traceability.records.database import Database


class CaptureJobRecords(Database):
    """The ``capture_jobs`` table."""
