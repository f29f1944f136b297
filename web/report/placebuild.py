"""Gather a storage place's ``PlaceReport`` over a period.

The band: the one asked for, else the strictest of the products whose lots were there
during the period (the highest minimum and the lowest maximum), as the alarm rule
``band: product`` judges a room. The numbers are the exact exposure of the place's
probes over the period (``traceability.coldchain.exposure``); the sealed windows and the
incidents come from the place's and the incidents' ledger streams, held against
InfluxDB (``traceability.anchoring.sealstatus``) and read from the signed steps
(``traceability.incidents.lifecycle``), never from the incidents table alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ledger.evidence import build_bundle
from ledger.store.sqlstore import LedgerStore
from traceability.anchoring.proofs import bundle_proofs
from traceability.anchoring.seals import WindowTotals, streams_for
from traceability.anchoring.sealstatus import sealed_status
from traceability.coldchain.band import Band
from traceability.coldchain.exposure import TemperatureSeries, exposure_over
from traceability.custody import CustodyService
from traceability.incidents.lifecycle import Lifecycle, lifecycles
from traceability.incidents.record import incident_stream
from traceability.records.store import RecordStore
from web.chart import ChartBucket
from web.lotpage import CHART_SLOTS, downsample
from web.report.build import CalibrationSource, probe_lines
from web.report.placeview import PlaceExcursion, PlaceIncident, PlaceLot, PlaceReport

MAX_INCIDENTS = 200  # incidents of a period read from their streams


class PlaceReportBuilder:
    def __init__(
        self,
        store: RecordStore,
        ledger: LedgerStore,
        series: TemperatureSeries,
        *,
        site: str,
        stored: WindowTotals | None = None,
        calibration: CalibrationSource | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._series = series
        self._site = site
        self._stored = stored
        self._calibration = calibration
        self._now = now or (lambda: datetime.now(UTC))

    def build(
        self, urn: str, start: datetime, end: datetime, band: tuple[float | None, float | None]
    ) -> PlaceReport:
        """``band``: (min, max) asked for; (None, None): the products' strictest."""
        now = self._now()
        end = min(end, now)
        place = next((p for p in self._store.locations() if p.urn == urn), None)
        lots = self._lots(urn, start, end)
        low, high, source = self._band(band, lots)
        judged = Band(temp_min_c=low, temp_max_c=high, excursion_budget_min=None, mkt_limit_c=None)
        found = exposure_over("", "", [(urn, start, end, judged)], self._series)
        incidents = self._incidents(urn, start, end)
        streams = [*streams_for([(urn, start, end)]), *(incident_stream(i) for i in incidents)]
        bundle = build_bundle(
            self._ledger,
            {"type": "place", "location": urn},
            [s for s in streams if self._ledger.stream(s)],
            lambda kind, record_id: None,
            None,
            now,
        )
        return PlaceReport(
            site=self._site,
            urn=urn,
            name=place.name if place is not None else None,
            start=start,
            end=end,
            band_min_c=low,
            band_max_c=high,
            band_source=source,
            readings=found.readings,
            min_c=found.min_c,
            max_c=found.max_c,
            mean_c=found.mean_c,
            mkt_c=found.mkt_c,
            minutes_out=found.minutes_out_of_range,
            unmonitored_min=found.unmonitored_min,
            excursions=tuple(
                PlaceExcursion(
                    start=e.start, end=e.end, minutes=e.minutes, peak_c=e.peak_c, device=e.device
                )
                for e in found.excursions
            ),
            chart=self._chart(urn, start, end, low, high),
            probes=probe_lines(
                found.stay_probes, {urn: place.name if place else None}, self._calibration
            ),
            lots=tuple(lots),
            incidents=tuple(
                _incident(one) for one in lifecycles(bundle) if one.incident in incidents
            ),
            windows=sealed_status(bundle, [(urn, start, end)], now, self._stored),
            batches=bundle_proofs(bundle).batches,
            generated_at=now,
        )

    def _lots(self, urn: str, start: datetime, end: datetime) -> list[PlaceLot]:
        found = []
        for gtin, lot in CustodyService(self._store).lots_at(urn, start, end):
            product = self._store.get_product(gtin)
            found.append(
                PlaceLot(gtin=gtin, lot=lot, product=product.name if product is not None else gtin)
            )
        return sorted(found, key=lambda p: (p.gtin, p.lot))

    def _band(
        self, asked: tuple[float | None, float | None], lots: list[PlaceLot]
    ) -> tuple[float | None, float | None, str]:
        if asked != (None, None):
            return asked[0], asked[1], "the band asked for this report"
        products = [
            p for g in sorted({lot.gtin for lot in lots}) if (p := self._store.get_product(g))
        ]
        lows = [p.temp_min_c for p in products if p.temp_min_c is not None]
        highs = [p.temp_max_c for p in products if p.temp_max_c is not None]
        if not lows and not highs:
            return None, None, "no band: no lot with a band was here; ask for one (min, max)"
        return (
            max(lows) if lows else None,
            min(highs) if highs else None,
            # The products' records, not their signed versions: the report says so.
            (
                "the band of the one product stored here in the period"
                if len(products) == 1
                else f"the strictest of the {len(products)} products stored here in the period"
            )
            + ", from the product records (not held against their signed versions)",
        )

    def _incidents(self, urn: str, start: datetime, end: datetime) -> set[str]:
        ids = set()
        for row in self._store.incidents(None, 2000):
            began, cleared = row.get("started_at"), row.get("cleared_at")
            if row.get("location") != urn or began is None or began > end:
                continue
            if cleared is None or cleared >= start:
                ids.add(str(row["id"]))
        return set(sorted(ids)[:MAX_INCIDENTS])

    def _chart(
        self, urn: str, start: datetime, end: datetime, low: float | None, high: float | None
    ) -> tuple[ChartBucket, ...]:
        width = max(timedelta(hours=1), (end - start) / CHART_SLOTS)
        width = timedelta(minutes=int(width.total_seconds() // 60))
        buckets = [
            ChartBucket(
                start=max(b.start, start),
                end=min(b.start + b.width, end),
                min_c=b.min_c,
                max_c=b.max_c,
                mean_c=b.mean_c,
            )
            for b in self._series.buckets(urn, start, end, low, high, width)
            if b.count
        ]
        return downsample(buckets, CHART_SLOTS)


def _incident(found: Lifecycle) -> PlaceIncident:
    dispositions = []
    for step in found.steps:
        if step.get("step") == "disposed":
            actor = step.get("actor") or {}
            dispositions.append(
                f"{step.get('disposition')} of {step.get('gtin')}/{step.get('lot')} "
                f"by {actor.get('name')} ({actor.get('role')})"
            )
    return PlaceIncident(
        incident=found.incident,
        started=found.started_at,
        ongoing=found.ongoing,
        valid=found.valid,
        anchored=found.anchored,
        dispositions=tuple(dispositions),
    )
