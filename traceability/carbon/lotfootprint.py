"""The carbon footprint the lot page shows, behind a small port.

``FootprintSource.latest(gtin, lot)`` gives a ``FootprintSummary`` or None ("not
computed yet"). The default, ``RecordsFootprint``, computes it from the records
(legs, hubs, stays, packaging) when the lot has any, through ``assessment.assess``, with
cold-room energy from a ``ColdRoomPower`` when the lot has cold-storage stays.
``LedgerFootprint`` prefers the lot's latest carbon report kept in the ledger
(``carbon.ledgerreport``) and says whether it is anchored (batch, block) or still
pending; without one it falls back to another source (the records), marked "not
anchored yet".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from gs1.errors import Gs1Error
from ledger.errors import LedgerError
from traceability.carbon.assessment import assess
from traceability.carbon.energy import ColdRoomPower
from traceability.carbon.errors import CarbonError
from traceability.carbon.factors import FactorTable
from traceability.carbon.ledgerreport import ReportLedger, latest_report
from traceability.carbon.records import RecordsCarbonSource
from traceability.carbon.report import decimal
from traceability.errors import TraceabilityError
from traceability.records.store import RecordStore

# The breakdown's item kinds, in the order the page lists them.
KINDS = ("leg", "hub", "cold_storage", "refrigerant", "packaging")


class FootprintSummary(BaseModel):
    """What a consumer sees: totals and the breakdown by kind (kg CO2e, WTW)."""

    model_config = ConfigDict(frozen=True)

    total_kg: float
    per_unit_kg: float
    per_kg_kg: float
    units: int
    by_kind: tuple[tuple[str, float], ...]  # (kind, kg CO2e), in KINDS order, non-zero
    standard: str
    report_id: str | None = None
    # Where the figures come from: a report kept in the ledger and anchored on chain
    # (with its batch and block), kept but waiting for its batch, or computed from the
    # records and not anchored yet; None when the source does not say.
    anchor: Literal["anchored", "pending", "not_anchored"] | None = None
    batch_id: int | None = None
    block_number: int | None = None


class FootprintSource(Protocol):
    def latest(self, gtin: str, lot: str) -> FootprintSummary | None:
        """The lot's footprint, or None when none has been computed (yet)."""
        ...


def summary_from_report(report: Mapping[str, Any]) -> FootprintSummary:
    """The summary of a lot report (``traceability.carbon.report.lot_report``)."""
    data = report["extensions"][-1]["data"]
    return FootprintSummary(
        total_kg=float(data["totalKgCO2e"]),
        per_unit_kg=float(data["perUnitKgCO2e"]),
        per_kg_kg=float(data["perKgKgCO2e"]),
        units=int(data["units"]),
        by_kind=_by_kind((item["kind"], float(item["kgCO2e"])) for item in data["items"]),
        standard=str(data["standard"]),
        report_id=report.get("id"),
    )


def _by_kind(items: Iterable[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    """kg CO2e summed by item kind, in KINDS order, kinds without any left out."""
    totals: dict[str, float] = {}
    for kind, kg in items:
        totals[kind] = totals.get(kind, 0.0) + kg
    return tuple((k, totals[k]) for k in KINDS if totals.get(k))


class RecordsFootprint:
    """``FootprintSource`` computing from the records (and cold-room power, if given)."""

    def __init__(
        self,
        store: RecordStore,
        power: ColdRoomPower | None = None,
        factors: FactorTable | None = None,
    ) -> None:
        self._store = store
        self._power = power
        self._factors = factors

    def latest(self, gtin: str, lot: str) -> FootprintSummary | None:
        if not self._store.shipments_of_lot(gtin, lot) and not self._store.stays_of_lot(gtin, lot):
            return None
        try:
            data = RecordsCarbonSource(self._store).lot_input(gtin, lot)
            footprint = assess(data, self._power, self._factors)
        except (CarbonError, TraceabilityError, Gs1Error):
            # Incomplete records or telemetry (cold storage without the compressor power
            # series too): the page says "not computed yet".
            return None
        return FootprintSummary(
            total_kg=float(decimal(footprint.total_kg_co2e)),
            per_unit_kg=footprint.per_unit,
            per_kg_kg=footprint.per_kg,
            units=data.units,
            by_kind=_by_kind((item.kind, item.kg_co2e) for item in footprint.items),
            standard="ISO 14083:2023; GLEC Framework v3.0",
        )


class LedgerFootprint:
    """``FootprintSource`` preferring the lot's latest carbon report in the ledger.

    Falls back to ``fallback`` (e.g. ``RecordsFootprint``), marked ``not_anchored``,
    when the ledger keeps no report for the lot or cannot be read.
    """

    def __init__(self, ledger: ReportLedger, fallback: FootprintSource | None = None) -> None:
        self._ledger = ledger
        self._fallback = fallback

    def latest(self, gtin: str, lot: str) -> FootprintSummary | None:
        try:
            kept = latest_report(self._ledger, gtin, lot)
        except LedgerError:
            kept = None  # the page still shows what the records give
        if kept is not None:
            try:
                summary = summary_from_report(kept.report)
            except (KeyError, IndexError, TypeError, ValueError):
                summary = None  # not a report this page can read: fall back
            if summary is not None:
                return summary.model_copy(
                    update={
                        "anchor": kept.status,
                        "batch_id": kept.batch_id,
                        "block_number": kept.block_number,
                    }
                )
        computed = self._fallback.latest(gtin, lot) if self._fallback else None
        return None if computed is None else computed.model_copy(update={"anchor": "not_anchored"})
