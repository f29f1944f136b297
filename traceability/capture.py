"""Capture: validate an EPCIS ObjectEvent, link its EPCs to lots, store it once.

The gateway hands events over through its capture port; the composition root adapts
``CaptureService.capture`` to it (``EventRejected`` → the port's "rejected",
``StoreUnavailable`` → the port's "unavailable, retry").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from ledger.canonical import canonicalize
from ledger.errors import CanonicalizationError
from traceability.epcis import event_id, parse_event
from traceability.errors import EventRejected
from traceability.gs1 import Sgtin
from traceability.records import EpcLink, NewEvent, RecordStore

# The repository sets its own record time (captured_at); a sender's recordTime is noise.
_NOT_STORED = frozenset({"recordTime"})


class CaptureOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: str
    created: bool  # False: the same event was captured before (redelivery)
    lots: tuple[tuple[str, str], ...]  # (gtin, lot) pairs the event was linked to
    unknown_epcs: tuple[str, ...]  # EPCs not resolved to a registered unit


class CaptureService:
    def __init__(self, store: RecordStore) -> None:
        self._store = store

    def capture(self, event: Mapping[str, Any]) -> CaptureOutcome:
        """Validate and store ``event``; idempotent on its event id.

        An EPC that is not a registered unit is still stored with the event (an
        observation of something we do not know is still evidence), just not linked
        to a lot. Raises ``EventRejected`` for an invalid event and
        ``StoreUnavailable`` when the database fails.
        """
        parsed = parse_event(event)
        body = {k: v for k, v in event.items() if k not in _NOT_STORED}
        try:
            canonical = canonicalize(body).decode("utf-8")
            identifier = event_id(event)
        except CanonicalizationError as exc:
            raise EventRejected("event", f"has no canonical JSON form: {exc}") from exc
        links = tuple(self._link(epc) for epc in parsed.epc_list)
        result = self._store.store_event(
            NewEvent(
                id=identifier,
                event_time=parsed.event_time,
                type=parsed.type,
                biz_step=parsed.biz_step_short,
                read_point=parsed.read_point.id if parsed.read_point else None,
                biz_location=parsed.biz_location.id if parsed.biz_location else None,
                body=canonical,
                epcs=links,
            )
        )
        lots = tuple(
            dict.fromkeys((link.gtin, link.lot) for link in links if link.gtin and link.lot)
        )
        return CaptureOutcome(
            event_id=result.event_id,
            created=result.created,
            lots=lots,
            unknown_epcs=tuple(link.epc for link in links if link.lot is None),
        )

    def _link(self, epc: str) -> EpcLink:
        if not epc.startswith("urn:epc:id:sgtin:"):
            return EpcLink(epc=epc)
        sgtin = Sgtin.parse(epc)  # already validated by parse_event
        serial = sgtin.serial.value
        lot = self._store.lot_of_unit(sgtin.gtin, serial)
        return EpcLink(epc=epc, gtin=sgtin.gtin.value, serial=serial, lot=lot)
