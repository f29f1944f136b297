"""Errors raised by the carbon footprint subpackage.

Every message names the field (a JSON path into the input such as
``shipments[0].legs[1].payload_kg``) or the factor, and says how to fix it::

    TraceabilityError                (traceability.errors)
    └── CarbonError
        ├── CarbonInputError         bad input: missing mass, unknown mode, negative distance …
        ├── FactorError              a factor row is invalid (no source, bad unit, wrong scope)
        ├── FactorNotFound           no factor matches a leg/hub/stay; names what to supply
        ├── InsufficientTelemetry    the cold room's power series does not cover the stay
        └── EnergyUnavailable        InfluxDB could not answer the power query (transient)

Pydantic ``ValidationError`` is translated into ``CarbonInputError`` where input is
parsed (``chain.parse_lot_input``); httpx errors into ``EnergyUnavailable`` in
``coldroom``.
"""

from __future__ import annotations

from traceability.errors import TraceabilityError


class CarbonError(TraceabilityError):
    """Root of the carbon subpackage's errors."""


class CarbonInputError(CarbonError, ValueError):
    """The footprint input is invalid; ``field`` is the JSON path of the offending value."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class FactorError(CarbonError, ValueError):
    """An emission factor row is invalid; ``field`` names the row and column."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class FactorNotFound(CarbonError, LookupError):  # noqa: N818 - outcome name, as the package's
    """No factor matches; ``field`` is the input path that asked for one."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class InsufficientTelemetry(CarbonError):  # noqa: N818 - outcome name
    """The compressor power series has no data, or too little, over a stay."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class EnergyUnavailable(CarbonError):  # noqa: N818 - outcome name, as TelemetryUnavailable
    """The telemetry store could not answer the power query; retry later."""
