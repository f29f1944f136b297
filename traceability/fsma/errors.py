"""Errors of the FSMA 204 export.

::

    FsmaError (a traceability.errors.TraceabilityError)
    └── ExportRefused   the request cannot be answered as asked; ``field`` names the
                        parameter (a window too long, more events than the bound)

Records failures pass as ``traceability.errors.StoreUnavailable``.
"""

from __future__ import annotations

from traceability.errors import TraceabilityError


class FsmaError(TraceabilityError):
    """Root of the FSMA 204 export's errors."""


class ExportRefused(FsmaError):  # noqa: N818 - outcome names, as the records'
    """The export cannot be made as asked; ``field`` names the parameter to change."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
