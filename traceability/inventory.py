"""RFID inventory reconciliation: what the records expect at a location vs what the readers
saw in a cycle count → missing, unexpected and misplaced units."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from traceability.custody import CustodyService
from traceability.records.store import RecordStore


class Discrepancies(BaseModel):
    model_config = ConfigDict(frozen=True)

    location: str
    expected: int
    observed: int
    missing: tuple[str, ...]  # expected here, not seen
    unexpected: tuple[str, ...]  # seen here, records have no location for them
    misplaced: tuple[tuple[str, str], ...]  # (epc, where the records say it is)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.misplaced)


def reconcile(store: RecordStore, location: str, observed: Iterable[str]) -> Discrepancies:
    """Compare a cycle count at ``location`` with the custody records.

    Expected = every EPC whose current stay is at ``location``. An observed EPC the
    records place elsewhere is *misplaced*; one they know nothing about is *unexpected*.
    """
    custody = CustodyService(store)
    seen = set(observed)
    candidates = {
        epc
        for event in store.events_at(location)
        for epc in [*event.document().get("epcList", []), *event.document().get("childEPCs", [])]
    }
    expected: set[str] = set()
    where: dict[str, str | None] = {}
    for epc in candidates | seen:
        current = custody.timeline(epc).current
        where[epc] = current.location if current else None
        if current is not None and current.location == location:
            expected.add(epc)
    misplaced = sorted(
        (epc, place) for epc in seen - expected if (place := where.get(epc)) is not None
    )
    unexpected = sorted(epc for epc in seen - expected if where.get(epc) is None)
    return Discrepancies(
        location=location,
        expected=len(expected),
        observed=len(seen),
        missing=tuple(sorted(expected - seen)),
        unexpected=tuple(unexpected),
        misplaced=tuple(misplaced),
    )
