"""The port through which the gateway hands EPCIS events to traceability."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class CapturePort(Protocol):
    """Stores one EPCIS 2.0 event (a JSON object without @context).

    Returns the stored event id; capturing the same event again returns the same id.
    Raises ``gateway.errors.CaptureRejected(reason)`` for a bad event (the gateway
    dead-letters it) and ``gateway.errors.CaptureUnavailable`` for a transient failure
    (the gateway does not acknowledge the message and retries).
    """

    def capture(self, event: Mapping[str, Any]) -> str: ...
