"""The consumer lot page as data: what a shopper may see, gathered once per lot.

``LotPageBuilder.build(gtin, lot, serial)`` reads the records, the lot's exposure,
its temperature series (aggregated for the chart), footprint and proofs, and returns a
frozen ``LotView``. Privacy is decided here, not in the template: places are shown by
their recorded *name* (else a generic "warehouse location"), the temperature only as
aggregates (status, MKT, range, excursion count and minutes, what is left of the
stability budget per step, unmonitored minutes, a chart of bucket min/max/mean), never
raw readings, device ids or location URNs.

With an evidence source, every product, lot and place fact is held against the
anchored versions the lot's bundle carries (``traceability.masterdata.facts``): a
journey stop shows the place as the version valid at the stay describes it, and a fact
no anchored version backs is listed in ``unproven`` and marked on the page ("not yet
anchored", "changed since anchoring: not proven"), never put under "On chain".

The temperature verdict, the journey and the footprint are the lot's claims
(``traceability.anchoring.claims``: the same computation writes them into the lot's
bundle, where ``tracehub verify`` recomputes them from the proven inputs). Each stay is
judged against the product's anchored version valid when it began, and the page says
which version; without one it judges against the records' row and says it is not proven.

Building a view costs what the exposure costs (~200 ms on a 90-day lot), so the web
layer caches rendered pages (``web.pagecache``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from gs1.errors import Gs1Error
from traceability.anchoring.claims import ColdChainClaim, PageClaims
from traceability.anchoring.proofs import ChainIdentity, EvidenceSource, PageProofs, bundle_proofs
from traceability.anchoring.provenreadings import asked_stays
from traceability.anchoring.receipts import RECEIPT_KIND
from traceability.anchoring.seals import (
    WindowStatus,
    WindowTotals,
    spans_of,
)
from traceability.anchoring.sealstatus import sealed_status
from traceability.audit.entry import KIND as AUDIT_KIND
from traceability.calibration.record import Calibration
from traceability.calibration.status import StayCalibration, stays_calibration
from traceability.carbon.lotfootprint import FootprintSource
from traceability.coldchain.exposure import ExposureService, TemperatureSeries
from traceability.custody import CustodyService
from traceability.errors import TelemetryUnavailable, TraceabilityError
from traceability.expiry import expiry_status
from traceability.incidents.lifecycle import lifecycles
from traceability.masterdata.facts import LotFacts, lot_facts
from traceability.masterdata.versions import SUBJECT_OF_KIND
from traceability.records.entities import Lot, Product
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from web.chart import ChartBucket, ChartSpan
from web.lotview import ColdChain, Excursion, IncidentNote, LotView, Recall, Stop


@runtime_checkable
class _Totals(WindowTotals, Protocol):
    """``WindowTotals`` checkable at run time (is the chart's series one too?)."""


CHART_SLOTS = 96  # chart resolution: at most this many buckets across the lot's journey
CHART_WIDTH = timedelta(hours=1)


class LotPageBuilder:
    def __init__(
        self,
        store: RecordStore,
        chain_name: str,
        *,
        exposure: ExposureService | None = None,
        series: TemperatureSeries | None = None,
        footprint: FootprintSource | None = None,
        evidence: EvidenceSource | None = None,
        stored: WindowTotals | None = None,
        evidence_public: bool = True,
        near_expiry_days: int = 7,
        today: Callable[[], date] | None = None,
        now: Callable[[], datetime] | None = None,
        chain: ChainIdentity | None = None,
        calibrations: Callable[[Sequence[str]], Sequence[Calibration]] | None = None,
    ) -> None:
        """``chain``: the hub's chain now; anchors recorded on another are not shown as
        on chain, whether or not the anchoring worker's audit has run yet;
        ``calibrations``: the site's signed calibration records of the probes named."""
        # The exposure's own source by default: the page flags the stays as it does.
        self._calibrations = calibrations or (exposure.calibrations if exposure else None)
        self._store = store
        self._chain = chain
        self._custody = CustodyService(store)
        self._chain_name = chain_name
        self._exposure = exposure
        self._series = series
        self._footprint = footprint
        self._evidence = evidence
        # What InfluxDB holds now, to hold the sealed windows against: in production the
        # chart's series is the InfluxDB reader, which answers that too.
        if stored is None and isinstance(series, _Totals):
            stored = series
        self._stored = stored
        self._evidence_public = evidence_public
        self._near = near_expiry_days
        self._today = today or (lambda: datetime.now(UTC).date())
        self._now = now or (lambda: datetime.now(UTC))

    def build(self, product: Product, lot: Lot, serial: str | None = None) -> LotView:
        gtin, lot_id = product.gtin, lot.lot
        names = {loc.urn: loc for loc in self._store.locations()}
        timeline = self._custody.lot_timeline(gtin, lot_id)
        spans = timeline.locations()
        bundle = self._evidence.bundle(gtin, lot_id) if self._evidence is not None else None
        facts = None
        if self._evidence is not None:
            visited = {urn: names[urn] for urn in spans if urn in names}
            facts = lot_facts(bundle, product, self._store.lot_master(gtin, lot_id), visited)
        stops = sorted(
            (
                (urn, start, self._stop(urn, start, end, names, facts))
                for urn, intervals in spans.items()
                for start, end in intervals
            ),
            key=lambda s: s[2].arrived,
        )
        unit_place = None
        if serial is not None:
            where = self._custody.where_now(gtin, lot_id)
            place = next(
                (loc for epc, loc in where.items() if epc.rsplit(".", 1)[-1] == serial), None
            )
            unit_place = names[place].name if place in names else None
        events = self._store.events_for_lot(gtin, lot_id)
        recalled = [e.event_time for e in events if e.disposition == "recalled"]
        claims = PageClaims(self._store, self._exposure, self._footprint, self._now())
        cold, cold_claim = self._cold_chain(claims, product, lot_id, spans, names, bundle)
        footprint = self._footprint.latest(gtin, lot_id) if self._footprint else None
        flags = self._calibration(cold_claim, spans)
        return LotView(
            product=product,
            lot=lot,
            serial=serial,
            unit_place=unit_place,
            expiry=expiry_status(lot, self._today(), self._near, product.shelf_life_days),
            journey=tuple(
                stop.model_copy(update={"calibration": flags.get((urn, start), ())})
                for urn, start, stop in stops
            ),
            cold_chain=cold.model_copy(
                update={"windows": self._windows(bundle, spans, cold_claim)}
            ),
            recall=Recall(since=min(recalled)) if recalled else None,
            footprint=footprint,
            proofs=self._proofs(events, bundle),
            chain_name=self._chain_name,
            evidence_public=self._evidence_public,
            built_at=self._now(),
            facts=facts,
            unproven=facts.unproven() if facts is not None else (),
            claims=claims.claims(product, lot_id, bundle, cold_claim, footprint),
            incidents=incident_notes(bundle, gtin, lot_id),
        )

    def _calibration(
        self, claim: ColdChainClaim | None, spans: dict[str, list[tuple[datetime, datetime | None]]]
    ) -> dict[tuple[str, datetime], tuple[StayCalibration, ...]]:
        # The probes the verdict's claim says read each stay, against their signed
        # calibration records (``stays_calibration``, as the exposure flags them).
        if self._calibrations is None or claim is None or not claim.probes:
            return {}
        ends = {(urn, a): b or self._now() for urn, spans_ in spans.items() for a, b in spans_}
        read = [(p.location, p.start, ends.get((p.location, p.start), self._now()),
                 [d for d in p.devices if d]) for p in claim.probes]  # fmt: skip
        records = self._calibrations(sorted({d for *_, devices in read for d in devices}))
        found = stays_calibration(read, records)
        # Out, or calibrated by a record not anchored or signed after the stay (needs_note).
        return {k: tuple(f for f in fs if f.out or f.needs_note) for k, fs in found.items()}

    @staticmethod
    def _stop(
        urn: str,
        start: datetime,
        end: datetime | None,
        names: dict[str, Location],
        facts: LotFacts | None,
    ) -> Stop:
        # The place as its anchored version valid at the stay described it, when there
        # is one; else the records' description, marked with its state.
        place = facts.place_at(urn, start) if facts is not None else None
        if place is not None:
            return Stop(
                name=place.name,
                kind=place.kind,
                country=place.country,
                arrived=start,
                left=end,
                state=place.state,
            )
        known = names.get(urn)
        return Stop(
            name=known.name if known else None,
            kind=known.kind if known else None,
            country=known.country if known else None,
            arrived=start,
            left=end,
            state=None if facts is None else "unsigned",
        )

    def _windows(
        self,
        bundle: dict[str, Any] | None,
        spans: dict[str, list[tuple[datetime, datetime | None]]],
        claim: ColdChainClaim | None = None,
    ) -> WindowStatus | None:
        # The seals come from the bundle; one InfluxDB query per build (pages are cached)
        # checks that what the verdict was computed from is still what was sealed. The
        # full per-reading comparison is `tracehub verify`'s.
        if self._evidence is None:
            return None
        now, flat = self._now(), spans_of(spans)
        if claim is not None:
            # Seals are asked of the stays a gateway probe read, as `verify` asks them: a
            # room only sensor events report on is proven by those events (issue #15).
            flat = asked_stays(claim, flat)
        return sealed_status(bundle, flat, now, self._stored)

    def _proofs(self, events: list, bundle: dict[str, Any] | None) -> PageProofs:  # type: ignore[type-arg]
        # Only the ledger's bundle proves anything: without it, nothing shows as anchored.
        if bundle is not None:
            # The lot's own leaves; its master-data versions are shown by the facts
            # they back (``LotView.unproven``), not counted as the lot's events, nor
            # are capture receipts (who sent the events: the page does not say) or
            # audit entries (who changed what: the auditors' and `verify`'s).
            own = [
                i
                for i in bundle["items"]
                if i["entry"]["kind"] not in SUBJECT_OF_KIND
                and i["entry"]["kind"] not in (RECEIPT_KIND, AUDIT_KIND)
            ]
            proofs = bundle_proofs({**bundle, "items": own}, here=self._chain)
            # An event row with no signed capture entry (put in by hand) is on the
            # journey but proven by nothing: counted, never as anchored.
            signed = {i["entry"]["record_id"] for i in own}
            uncaptured = sum(1 for e in events if e.id not in signed)
            return proofs.model_copy(update={"total": proofs.total + uncaptured})
        return PageProofs(items=(), total=len(events), anchored=0, batches=())

    def _cold_chain(
        self,
        claims: PageClaims,
        product: Product,
        lot: str,
        spans: dict[str, list[tuple[datetime, datetime | None]]],
        names: dict,  # type: ignore[type-arg]
        bundle: dict[str, Any] | None,
    ) -> tuple[ColdChain, ColdChainClaim | None]:
        if self._exposure is None:
            return ColdChain(state="no_record"), None
        try:
            # Judged per stay against the anchored version then valid (the bundle's).
            found = claims.cold_chain(product, lot, bundle if self._evidence else None)
            chart = self._chart(product, spans)
        except (TelemetryUnavailable, TraceabilityError, Gs1Error):
            return ColdChain(state="unavailable"), ColdChainClaim(state="unavailable")
        if found is None or found.state == "no_record":
            return ColdChain(state="no_record"), found
        newest = max(found.stays, key=lambda s: s.start).band if found.stays else None
        view = ColdChain(
            state=found.state,
            mkt_c=found.mkt_c,
            min_c=found.min_c,
            max_c=found.max_c,
            minutes_out=found.minutes_out,
            budget_min=found.budget_min,
            mkt_limit_c=found.mkt_limit_c,
            excursions=tuple(
                Excursion(
                    place=names[e.location].name if e.location in names else None,
                    start=e.start,
                    end=e.end,
                    minutes=e.minutes,
                    peak_c=e.peak_c,
                )
                for e in found.excursions
            ),
            chart=chart,
            band_min_c=newest.temp_min_c if newest else product.temp_min_c,
            band_max_c=newest.temp_max_c if newest else product.temp_max_c,
            versions=found.versions(),
            budget=found.budget,
            unmonitored_min=found.unmonitored_min,
        )
        return view, found

    def _chart(
        self, product: Product, spans: dict[str, list[tuple[datetime, datetime | None]]]
    ) -> tuple[ChartBucket, ...]:
        if self._series is None:
            return ()
        now = self._now()
        raw: list[ChartBucket] = []
        for location, intervals in spans.items():
            for start, end in intervals:
                until = end or now
                for b in self._series.buckets(
                    location, start, until, product.temp_min_c, product.temp_max_c,
                    CHART_WIDTH,
                ):  # fmt: skip
                    if b.count:
                        # A quiet stretch comes as a day or hour bucket: drawn over the
                        # stay only, so a short stay does not stretch the time axis.
                        raw.append(
                            ChartBucket(
                                start=max(b.start, start),
                                end=min(b.start + b.width, until),
                                min_c=b.min_c,
                                max_c=b.max_c,
                                mean_c=b.mean_c,
                            )
                        )
        return downsample(raw, CHART_SLOTS)


def incident_notes(bundle: dict[str, Any] | None, gtin: str, lot: str) -> tuple[IncidentNote, ...]:
    """The lot's incidents from the SIGNED steps its bundle carries (none without one)."""
    if bundle is None:
        return ()
    notes = []
    for found in lifecycles(bundle, gtin, lot):
        disposed = found.disposition(gtin, lot)
        notes.append(
            IncidentNote(
                incident=found.incident,
                valid=found.valid,
                started=found.started_at,
                minutes=found.minutes(gtin, lot),
                disposition=disposed[0] if disposed else None,
                by_role=disposed[2] if disposed else None,
                anchored=found.anchored,
                ongoing=found.ongoing,
            )
        )
    return tuple(notes)


def downsample(buckets: list[ChartBucket], slots: int) -> tuple[ChartBucket, ...]:
    """At most ``slots`` buckets of equal time width: min of mins, max of maxes, mean
    of means weighted by duration."""
    if len(buckets) <= slots:
        return tuple(sorted(buckets, key=lambda b: b.start))
    t0 = min(b.start for b in buckets)
    t1 = max(b.end for b in buckets)
    width = (t1 - t0) / slots
    grouped: dict[int, list[ChartBucket]] = {}
    for b in buckets:
        mid = b.start + (b.end - b.start) / 2
        grouped.setdefault(min(int((mid - t0) / width), slots - 1), []).append(b)
    merged = []
    for slot in sorted(grouped):
        group = grouped[slot]
        weights = [max((b.end - b.start).total_seconds(), 1.0) for b in group]
        merged.append(
            ChartBucket(
                start=t0 + slot * width,
                end=t0 + (slot + 1) * width,
                min_c=min(b.min_c for b in group),
                max_c=max(b.max_c for b in group),
                mean_c=sum(b.mean_c * w for b, w in zip(group, weights, strict=True))
                / sum(weights),
            )
        )
    return tuple(merged)


def excursion_spans(cold_chain: ColdChain) -> list[ChartSpan]:
    return [ChartSpan(start=e.start, end=e.end) for e in cold_chain.excursions]
