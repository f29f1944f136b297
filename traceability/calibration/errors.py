"""Errors raised by the calibration package.

::

    CalibrationError (a traceability.errors.TraceabilityError)
    └── CalibrationRejected   a record or a CSV file is not valid: the message names the
                              row (files) and the field, and how to fix it

Records and ledger failures pass as ``traceability.errors`` ``StoreUnavailable`` (retry)
and ``RecordConflict`` (a certificate number already recorded with other values).
"""

from __future__ import annotations

from traceability.errors import TraceabilityError


class CalibrationError(TraceabilityError):
    """Root of the calibration package's errors."""


class CalibrationRejected(CalibrationError):  # noqa: N818 - outcome names, as the records'
    """A calibration record or file is not valid; the message names row and field."""
