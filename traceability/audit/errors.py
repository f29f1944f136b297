"""Errors raised by the audit package.

::

    AuditError (a traceability.errors.TraceabilityError)
    └── AuditRefused    the change cannot be an audit entry (a signed change without its
                        reason or signature, a value that is not JSON, a malformed name)

Records and ledger failures pass as ``traceability.errors`` ``StoreUnavailable`` (retry:
an entry the records hold is signed by the next ``AuditTrail.sign_pending``) and
``RecordConflict``.
"""

from __future__ import annotations

from traceability.errors import TraceabilityError


class AuditError(TraceabilityError):
    """Root of the audit package's errors."""


class AuditRefused(AuditError):  # noqa: N818 - outcome names, as the records'
    """The change cannot be recorded as it is; the message names the field."""
