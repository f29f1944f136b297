"""Error-translating adapters between the gateway's ports and traceability / the ledger.

The gateway and traceability never import each other; the hub serves the gateway's
``CapturePort`` and ``EvidencePort`` in-process with these, turning each side's
errors into what the gateway acts on (dead-letter, retry later, drop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from gateway.errors import CaptureRejected, CaptureUnavailable, EvidenceUnavailable
from gs1.errors import EventRejected
from ledger.errors import LedgerError
from ledger.errors import StoreUnavailable as LedgerStoreUnavailable
from ledger.submitter import RecordSubmitter
from traceability.anchoring.seals import location_stream
from traceability.capture import CaptureService
from traceability.errors import StoreUnavailable

log = logging.getLogger(__name__)


class CaptureBridge:
    """The gateway's CapturePort, served in-process by traceability's CaptureService.

    Translates traceability's errors into the gateway's: a rejected event is
    dead-lettered, an unavailable store makes the gateway retry. Every event is
    captured in the name of ``source`` (``gateway:<its MQTT client id>``), which its
    signed capture receipt names.
    """

    def __init__(
        self,
        service: CaptureService,
        on_lot: Callable[[str, str], None] | None = None,
        *,
        source: str,
    ) -> None:
        self._service = service
        self._on_lot = on_lot
        self._source = source

    def capture(self, event: Mapping[str, Any]) -> str:
        try:
            outcome = self._service.capture(event, source=self._source)
            if self._on_lot is not None and outcome.created:
                # the lot's cached pages no longer tell the whole journey
                for gtin, lot in outcome.lots:
                    self._on_lot(gtin, lot)
            return outcome.event_id
        except EventRejected as exc:
            raise CaptureRejected(str(exc), field=exc.field) from exc
        except StoreUnavailable as exc:
            raise CaptureUnavailable(str(exc)) from exc


class EvidenceBridge:
    """The gateway's EvidencePort, served by the ledger: each sealed telemetry window
    becomes a signed leaf, chained per device (a dropped window shows) and per location
    it reported from (``location_stream``: a lot's bundle carries the seals of the
    places it stayed at).

    A ledger store outage makes the gateway offer the record again later; a record
    the ledger refuses outright (it cannot be canonicalised) is logged and dropped,
    because offering it again would fail the same way forever.
    """

    def __init__(self, submitter: RecordSubmitter) -> None:
        self._submitter = submitter

    def submit(self, kind: str, record: Mapping[str, Any]) -> None:
        device = record.get("device")
        streams = [f"device:{device}"] if isinstance(device, str) else []
        places = record.get("locations")
        if isinstance(places, list):
            streams += [location_stream(p) for p in sorted(set(places)) if isinstance(p, str)]
        try:
            self._submitter.submit(kind, dict(record), streams=streams)
        except LedgerStoreUnavailable as exc:
            raise EvidenceUnavailable(str(exc)) from exc
        except LedgerError as exc:
            log.error("ledger refused %s evidence for %s: %s", kind, device, exc)
