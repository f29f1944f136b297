"""Errors raised by the traceability package.

Every message names the field (or the resource) and says how to fix it::

    TraceabilityError
    ├── RecordError
    │   ├── RecordNotFound      a product, lot or batch the caller named does not exist
    │   ├── RecordConflict      a new record contradicts one already stored
    │   ├── RecordRefused       the database refused a value (too long, out of range)
    │   └── StoreUnavailable    the records database cannot be reached (transient)
    ├── TelemetryUnavailable    InfluxDB could not answer a temperature query (transient)
    ├── RetentionRefused        a raw-readings retention would delete readings the compliance
    │                           period or a sealed telemetry window needs (traceability.retention)
    └── RuleFileError           the alarm rule file is invalid ("file:line: field: message")

A malformed identifier or a rejected EPCIS event is a ``gs1.errors`` error
(``InvalidIdentifier``, ``EventRejected``), raised by the standards code and passed
through as it is; callers that answer every failure catch ``Gs1Error`` next to
``TraceabilityError``.

Third-party exceptions (SQLAlchemy, httpx, ledger.errors.ChainError) are translated at the
adapter that meets them and chained with ``raise ... from exc``.
"""

from __future__ import annotations


class TraceabilityError(Exception):
    """Root of every error this package raises."""


class RecordError(TraceabilityError):
    """A records-store operation failed."""


class RecordNotFound(RecordError):  # noqa: N818 - outcome names, as the contract's
    """The named product, lot or batch does not exist."""


class RecordConflict(RecordError):  # noqa: N818 - outcome names, as the contract's
    """A new record contradicts an existing one (e.g. a unit already in another lot)."""


class RecordRefused(RecordError):  # noqa: N818 - outcome names, as the contract's
    """The records database refused a value (SQLAlchemy ``DataError``): retrying the same
    data fails the same way, so it is no outage."""


class StoreUnavailable(RecordError):  # noqa: N818 - outcome names, as the contract's
    """The records database failed for a reason outside the caller's data; retry later."""


class TelemetryUnavailable(TraceabilityError):  # noqa: N818 - outcome names, as the contract's
    """The telemetry store (InfluxDB) could not answer; pages show 'temperature unavailable'."""


class RetentionRefused(TraceabilityError):  # noqa: N818 - outcome names, as the contract's
    """The raw-readings retention asked for is shorter than the compliance minimum or than
    the age of the oldest sealed telemetry window inside its period; the message names the
    setting, the window and the minimum."""


class RuleFileError(TraceabilityError):
    """The alarm rule file (``TRACEHUB_ALARMS_FILE``) is invalid; the message names the file,
    the line and the field ("alarms.yaml:12: rules[2].for_min: Input should be greater than 0")."""
