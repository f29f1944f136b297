"""Errors raised by the traceability package.

Every message names the field (or the resource) and says how to fix it::

    TraceabilityError
    ├── InvalidIdentifier       a GTIN, lot, serial, SGTIN or SGLN string is malformed
    ├── EventRejected           an EPCIS event failed validation (field + reason)
    ├── RecordError
    │   ├── RecordNotFound      a product, lot or batch the caller named does not exist
    │   ├── RecordConflict      a new record contradicts one already stored
    │   └── StoreUnavailable    the records database cannot be reached (transient)
    ├── TelemetryUnavailable    InfluxDB could not answer a temperature query (transient)
    └── AnchoringUnavailable    the chain could not anchor a batch; events stay pending

Third-party exceptions (SQLAlchemy, httpx, ledger.errors.ChainError) are translated at the
adapter that meets them and chained with ``raise ... from exc``.
"""

from __future__ import annotations


class TraceabilityError(Exception):
    """Root of every error this package raises."""


class InvalidIdentifier(TraceabilityError, ValueError):  # noqa: N818 - outcome names, as the contract's
    """A GS1 identifier string is malformed.

    ``field`` is the identifier kind (``"GTIN"``, ``"lot"`` …), ``value`` the rejected text.
    """

    def __init__(self, field: str, value: str, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        shown = value if value and value.strip() == value else repr(value)
        super().__init__(f"{field} {shown}: {reason}")


class EventRejected(TraceabilityError):  # noqa: N818 - outcome names, as the contract's
    """An EPCIS event is invalid; ``field`` is a JSON path such as ``epcList[0]``."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class RecordError(TraceabilityError):
    """A records-store operation failed."""


class RecordNotFound(RecordError):  # noqa: N818 - outcome names, as the contract's
    """The named product, lot or batch does not exist."""


class RecordConflict(RecordError):  # noqa: N818 - outcome names, as the contract's
    """A new record contradicts an existing one (e.g. a unit already in another lot)."""


class StoreUnavailable(RecordError):  # noqa: N818 - outcome names, as the contract's
    """The records database failed for a reason outside the caller's data; retry later."""


class TelemetryUnavailable(TraceabilityError):  # noqa: N818 - outcome names, as the contract's
    """The telemetry store (InfluxDB) could not answer; pages show 'temperature unavailable'."""


class AnchoringUnavailable(TraceabilityError):  # noqa: N818 - outcome names, as the contract's
    """Anchoring a batch on chain failed; nothing was recorded and the events stay pending."""
