"""Errors raised by the gateway package.

::

    GatewayError                  base of everything this package raises
     ├── TransientError           try again later; the MQTT message is NOT acknowledged
     │    ├── SinkUnavailable     InfluxDB down, timing out or answering 5xx
     │    ├── CaptureUnavailable  the capture port cannot store events right now
     │    ├── DeadLetterUnavailable  the dead-letter store cannot be written
     │    ├── SpoolUnavailable    the durable spool (SQLite) cannot be read or written
     │    └── EvidenceUnavailable the evidence port cannot take a digest right now
     ├── SinkRejected             InfluxDB refused the points (400); the message is dead-lettered
     ├── CaptureRejected          the capture port refused the event; dead-lettered
     ├── SourceError              a source (MQTT, OPC UA) cannot be configured or started
     └── IdentityError            device identity: bad registration, key, certificate or
          │                       registry file (the message names the field or file)
          └── UnknownIdentity     no such device/gateway in the registry

Third-party exceptions (httpx, sqlite3, paho) are translated where they occur.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base class for errors raised by the gateway package."""


class TransientError(GatewayError):
    """A temporary failure: the message stays unacknowledged and is retried."""


class SinkUnavailable(TransientError):  # noqa: N818 - names fixed by the contract
    """The time-series sink (InfluxDB) cannot be reached or failed temporarily."""


class CaptureUnavailable(TransientError):  # noqa: N818 - names fixed by the contract
    """The EPCIS capture port failed temporarily."""


class DeadLetterUnavailable(TransientError):  # noqa: N818 - names fixed by the contract
    """The dead-letter store cannot be written."""


class SpoolUnavailable(TransientError):  # noqa: N818 - same family as the names above
    """The durable spool cannot be opened, read or written (disk full, permissions)."""


class EvidenceUnavailable(TransientError):  # noqa: N818 - same family as the names above
    """The evidence port cannot take a sealed telemetry window now; it is offered again later."""


class SinkRejected(GatewayError):  # noqa: N818 - names fixed by the contract
    """The sink refused the data itself; retrying the same data would fail again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CaptureRejected(GatewayError):  # noqa: N818 - names fixed by the contract
    """The capture port refused the event (bad event); ``field`` names the culprit if known."""

    def __init__(self, reason: str, field: str = "event") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class SourceError(GatewayError):
    """The MQTT source could not be set up."""


class IdentityError(GatewayError, ValueError):
    """A device identity cannot be provisioned, loaded or used (reason names the fix)."""


class UnknownIdentity(IdentityError):  # noqa: N818 - reads as the situation, like the above
    """The registry holds no device or gateway of that name."""
