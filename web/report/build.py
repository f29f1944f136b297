"""Gather a lot's ``TemperatureReport`` from the lot page's view and the exposure.

The view (``web.lotpage``) brings what the page states and how it is proven: the band
of the version judged, the numbers, the excursions, the incidents from their signed
steps, the batches. The exposure adds what the page leaves out for privacy and an
inspector needs: which probe read which stay and the probe of each excursion.
Calibration comes from a ``CalibrationSource``; without one every probe says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Protocol

from traceability.audit.entry import ESignature
from traceability.coldchain.exposure import Exposure, ExposureService, StayProbes
from traceability.errors import TelemetryUnavailable
from traceability.records.entities import Lot, Product
from traceability.records.store import RecordStore
from web.lotpage import LotPageBuilder
from web.lotview import IncidentNote, LotView
from web.report.view import ExcursionLine, ProbeLine, TemperatureReport

NO_CALIBRATION = "no calibration record"
UNNAMED = "the source names no probe: calibration unknown"


class CalibrationSource(Protocol):
    """What the calibration records say of ``device`` over ``[start, end)``."""

    def describe(self, device: str, start: datetime, end: datetime) -> str: ...


class ReportBuilder:
    def __init__(
        self,
        store: RecordStore,
        pages: LotPageBuilder,
        exposure: ExposureService | None,
        *,
        site: str,
        calibration: CalibrationSource | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._store = store
        self._pages = pages
        self._exposure = exposure
        self._site = site
        self._calibration = calibration
        self._now = now or (lambda: datetime.now(UTC))

    def build(
        self, product: Product, lot: Lot, lot_url: str, release: ESignature | None = None
    ) -> TemperatureReport:
        """``lot_url``: the lot's GS1 Digital Link on the resolver, the report's QR code;
        ``release``: the e-signature of who releases it (None: a draft)."""
        view = self._pages.build(product, lot)
        found = self._exposure_of(product, lot)
        names = {loc.urn: loc.name for loc in self._store.locations()}
        return TemperatureReport(
            view=view,
            site=self._site,
            lot_url=lot_url,
            probes=self._probes(found, names),
            excursions=_excursions(view, found),
            generated_at=release.signed_at if release is not None else self._now(),
            release=release,
        )

    def _exposure_of(self, product: Product, lot: Lot) -> Exposure | None:
        if self._exposure is None:
            return None
        try:
            return self._exposure.exposure(product.gtin, lot.lot)
        except TelemetryUnavailable:
            return None  # the view says the temperatures could not be read

    def _probes(
        self, found: Exposure | None, names: Mapping[str, str | None]
    ) -> tuple[ProbeLine, ...]:
        if found is None:
            return ()
        return probe_lines(found.stay_probes, names, self._calibration)


def probe_lines(
    stays: Sequence[StayProbes],
    names: Mapping[str, str | None],
    calibration: CalibrationSource | None,
) -> tuple[ProbeLine, ...]:
    """Each probe that read a stay, with what the calibration records say of it then."""
    lines = [
        ProbeLine(
            place=names.get(stay.location) or stay.location,
            urn=stay.location,
            device=probe.device,
            start=stay.start,
            end=stay.end,
            readings=probe.readings,
            min_c=probe.min_c,
            max_c=probe.max_c,
            calibration=_calibration_of(calibration, probe.device, stay.start, stay.end),
        )
        for stay in stays
        for probe in stay.probes
        if probe.readings
    ]
    return tuple(sorted(lines, key=lambda p: (p.start, p.device or "")))


def _calibration_of(
    source: CalibrationSource | None, device: str | None, start: datetime, end: datetime
) -> str:
    if device is None:
        return UNNAMED
    if source is None:
        return NO_CALIBRATION
    return source.describe(device, start, end)


def _excursions(view: LotView, found: Exposure | None) -> tuple[ExcursionLine, ...]:
    """The page's excursions (judged against the anchored band), each with the probe the
    exposure names for it and the incident whose alarm began inside it."""
    devices = {e.start: e.device for e in found.excursions} if found is not None else {}
    lines = []
    for excursion in view.cold_chain.excursions:
        note = _incident_over(view.incidents, excursion.start, excursion.end)
        lines.append(
            ExcursionLine(
                place=excursion.place or "warehouse location",
                start=excursion.start,
                end=excursion.end,
                minutes=excursion.minutes,
                peak_c=excursion.peak_c,
                device=devices.get(excursion.start),
                incident=note.incident if note else None,
                disposition=note.disposition if note else None,
                disposed_by=note.by_role if note else None,
            )
        )
    return tuple(lines)


def _incident_over(
    notes: tuple[IncidentNote, ...], start: datetime, end: datetime
) -> IncidentNote | None:
    """The incident that began during the excursion (an alarm fires after its delay, so
    after the excursion began and no later than its end); else the latest before it."""
    during = [n for n in notes if n.started is not None and start <= n.started <= end]
    if during:
        return min(during, key=lambda n: n.started or start)
    before = [n for n in notes if n.started is not None and n.started < start and n.ongoing]
    return max(before, key=lambda n: n.started or start) if before else None
