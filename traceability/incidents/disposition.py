"""A lot's disposition as an EPCIS ObjectEvent, so the lot's EPCIS record follows its
incident (and the port that captures it: ``DispositionCapture``, the hub's capture).

release: bizStep inspecting, disposition conformant; quarantine: bizStep holding,
disposition non_sellable_other; reject: bizStep inspecting, disposition non_conformant.
The lot is named by its LGTIN class in a quantityList, at the incident's place, at the
time of the signed step, so capturing it again (a retry) is the same event hash: one event.
Pure but for the port.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from gs1.identifiers import Gtin, Lgtin, LotNumber
from traceability.incidents.model import Disposition
from traceability.incidents.record import instant

CBV: dict[Disposition, tuple[str, str]] = {
    "release": ("inspecting", "conformant"),
    "quarantine": ("holding", "non_sellable_other"),
    "reject": ("inspecting", "non_conformant"),
}
_DEFAULT_PREFIX = 7  # when nothing the records hold tells the GS1 company prefix length


class DispositionCapture(Protocol):
    """Captures one EPCIS event (``traceability.capture.CaptureService`` fits); ``source``
    goes into its signed capture receipt (``incident:{id}``)."""

    def capture(self, event: Mapping[str, Any], *, source: str | None = None) -> object: ...


def prefix_length(gtin14: str, hints: list[str]) -> int:
    """The company prefix length of ``gtin14``, from EPC URNs of the same company
    (``urn:epc:id:sgtin:CP.IR.S``, ``urn:epc:id:sgln:CP.L.E``) whose prefix the GTIN
    carries; the usual 7 digits when none does."""
    for urn in hints:
        body = urn.rsplit(":", 1)[-1]
        company = body.split(".", 1)[0]
        if company.isdigit() and 6 <= len(company) <= 12 and gtin14[1:].startswith(company):
            return len(company)
    return _DEFAULT_PREFIX


def lot_class(gtin14: str, lot: str, hints: list[str]) -> str:
    """The lot's EPC class URN (``urn:epc:class:lgtin:…``)."""
    return Lgtin(
        gtin=Gtin.parse(gtin14),
        lot=LotNumber.parse(lot),
        company_prefix_length=prefix_length(gtin14, hints),
    ).urn


def disposition_event(
    epc_class: str, disposition: Disposition, location: str, at: datetime
) -> dict[str, Any]:
    biz_step, cbv_disposition = CBV[disposition]
    return {
        "type": "ObjectEvent",
        "eventTime": instant(at),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [],
        "quantityList": [{"epcClass": epc_class}],
        "action": "OBSERVE",
        "bizStep": biz_step,
        "disposition": cbv_disposition,
        "readPoint": {"id": location},
    }
