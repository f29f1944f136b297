"""What the lot page states, as data: one computation for the page and for the bundle.

The page's derived numbers (the cold-chain verdict with its minutes out of range, MKT,
min/max, excursions and what is left of the stability budget per step, the band,
budget and MKT limit judged against with their
master-data versions; the journey stops; the footprint total and per unit with its
carbon report's id) are computed here, shown by ``web.lotpage`` and written into the
lot's evidence bundle as its ``claims`` section (format ``tracehub.lot-claims/1``, in
the signed manifest). ``claimcheck`` recomputes them from the proven inputs alone and
names every number that differs.

Each stay is judged against the product's anchored master-data version valid when the
stay began (``band_at``); a product without an anchored version is judged against the
records' row, and the claim says so (``version`` null): ``verify`` reports it pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from gs1.errors import Gs1Error
from traceability.coldchain.budget import BudgetUse
from traceability.coldchain.exposure import (
    DEFAULT_MAX_HOLD,
    Band,
    BandAt,
    Exposure,
    ExposureService,
    StayBand,
)
from traceability.custody import CustodyService
from traceability.errors import TelemetryUnavailable, TraceabilityError
from traceability.masterdata.history import History, histories_from_bundle
from traceability.masterdata.versions import product_stream
from traceability.records.entities import Product
from traceability.records.store import RecordStore

CLAIMS_FORMAT: Literal["tracehub.lot-claims/1"] = "tracehub.lot-claims/1"


class FootprintSummary(Protocol):
    """What a claim reads of ``carbon.lotfootprint.FootprintSummary`` (a port: carbon
    depends on anchoring, not the other way round)."""

    @property
    def total_kg(self) -> float: ...
    @property
    def per_unit_kg(self) -> float: ...
    @property
    def units(self) -> int: ...
    @property
    def report_id(self) -> str | None: ...


class FootprintSource(Protocol):
    def latest(self, gtin: str, lot: str) -> FootprintSummary | None: ...


ClaimState = Literal["ok", "at_risk", "compromised", "no_record", "unavailable"]


class ExcursionClaim(BaseModel):
    model_config = ConfigDict(frozen=True)

    location: str
    start: datetime
    end: datetime
    minutes: float
    peak_c: float
    device: str | None = None  # the probe that read it


class StayProbesClaim(BaseModel):
    """Which probes read one stay (gateway devices; ``epcis:…`` for sensor events)."""

    model_config = ConfigDict(frozen=True)

    location: str
    start: datetime
    devices: tuple[str, ...]


class ColdChainClaim(BaseModel):
    """The page's temperature verdict and the numbers it rests on."""

    model_config = ConfigDict(frozen=True)

    state: ClaimState
    readings: int = 0
    mkt_c: float | None = None
    min_c: float | None = None
    max_c: float | None = None
    minutes_out: float = 0.0
    excursions: tuple[ExcursionClaim, ...] = ()
    # Each stay with the band it was judged against, and the journey's budget and MKT
    # limit (the strictest of the stays' versions).
    stays: tuple[StayBand, ...] = ()
    budget_min: float | None = None
    mkt_limit_c: float | None = None
    # How long a reading held when its probe went quiet (``ExposureService.max_hold``),
    # so the recomputation holds the sealed readings the same way.
    max_hold_min: float = DEFAULT_MAX_HOLD.total_seconds() / 60
    unmonitored_min: float = 0.0
    # What the journey spent of the stability budget, per step (the worst over the
    # stays' versions); None: no budget, or a bundle written before budgets.
    budget: BudgetUse | None = None
    # The probes of each stay, so ``verify`` asks sealed telemetry only of the stays the
    # gateway read; None: a bundle written before sensor events (every stay is asked).
    probes: tuple[StayProbesClaim, ...] | None = None

    @classmethod
    def of(cls, found: Exposure, max_hold: timedelta = DEFAULT_MAX_HOLD) -> ColdChainClaim:
        hold = max_hold.total_seconds() / 60
        probes = tuple(
            StayProbesClaim(
                location=s.location,
                start=s.start,
                devices=tuple(sorted({p.device or "" for p in s.probes if p.readings})),
            )
            for s in found.stay_probes
        )
        if not found.readings:
            return cls(state="no_record", stays=found.stays, max_hold_min=hold, probes=probes)
        limits = found.limits
        return cls(
            state=found.status,
            readings=found.readings,
            mkt_c=found.mkt_c,
            min_c=found.min_c,
            max_c=found.max_c,
            minutes_out=found.minutes_out_of_range,
            excursions=tuple(
                ExcursionClaim(
                    location=e.location,
                    start=e.start,
                    end=e.end,
                    minutes=e.minutes,
                    peak_c=e.peak_c,
                    device=e.device,
                )
                for e in found.excursions
            ),
            stays=found.stays,
            budget_min=limits.excursion_budget_min if limits else None,
            mkt_limit_c=limits.mkt_limit_c if limits else None,
            max_hold_min=hold,
            unmonitored_min=found.unmonitored_min,
            budget=found.budget,
            probes=probes,
        )

    def versions(self) -> tuple[int | None, ...]:
        """The product versions the stays were judged against, in stay order (None: the
        records' row, no anchored version)."""
        return tuple(dict.fromkeys(s.band.version for s in self.stays))


class StopClaim(BaseModel):
    model_config = ConfigDict(frozen=True)

    location: str
    arrived: datetime
    left: datetime | None


class FootprintClaim(BaseModel):
    model_config = ConfigDict(frozen=True)

    total_kg: float
    per_unit_kg: float
    units: int
    report_id: str | None  # None: computed from the records, no report kept

    @classmethod
    def of(cls, found: FootprintSummary) -> FootprintClaim:
        return cls(
            total_kg=found.total_kg,
            per_unit_kg=found.per_unit_kg,
            units=found.units,
            report_id=found.report_id,
        )


class LotClaims(BaseModel):
    """The ``claims`` section of a lot's bundle."""

    model_config = ConfigDict(frozen=True)

    format: Literal["tracehub.lot-claims/1"] = CLAIMS_FORMAT
    gtin: str
    lot: str
    as_of: datetime  # when the page computed them (open stays end here)
    journey: tuple[StopClaim, ...]
    cold_chain: ColdChainClaim | None  # None: the page had no temperature source
    footprint: FootprintClaim | None  # None: no footprint shown

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_json(cls, value: Any) -> LotClaims:
        """Raises ``ValueError`` naming what is malformed."""
        try:
            return cls.model_validate(value)
        except ValidationError as exc:
            raise ValueError(f"the claims section is malformed: {exc}") from exc


def product_history(bundle: Mapping[str, Any] | None, gtin: str) -> History | None:
    if bundle is None:
        return None
    return histories_from_bundle(bundle).get(product_stream(gtin))


def band_at(history: History | None, fallback: Band | None) -> BandAt:
    """The band of a stay: the anchored product version valid when it began, else
    ``fallback`` (the records' row, version None; None: no band at all)."""

    def at(location: str, moment: datetime) -> Band:
        found = history.anchored_at(moment) if history is not None else None
        if found is not None:
            fields = found.version.facts.fields
            return Band(
                temp_min_c=_float(fields.get("temp_min_c")),
                temp_max_c=_float(fields.get("temp_max_c")),
                excursion_budget_min=_float(fields.get("excursion_budget_min")),
                mkt_limit_c=_float(fields.get("mkt_limit_c")),
                version=found.version.version,
                # Absent from versions signed before the field: no steps.
                stability_budget=fields.get("stability_budget"),
            )
        return fallback or Band(
            temp_min_c=None, temp_max_c=None, excursion_budget_min=None, mkt_limit_c=None
        )

    return at


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def journey_claim(
    spans: Mapping[str, Sequence[tuple[datetime, datetime | None]]],
) -> tuple[StopClaim, ...]:
    stops = [
        StopClaim(location=loc, arrived=start, left=end)
        for loc, runs in spans.items()
        for start, end in runs
    ]
    return tuple(sorted(stops, key=lambda s: (s.arrived, s.location)))


class PageClaims:
    """Computes a lot's claims the way the page does (``claims(bundle)``), so the page
    shows them and ``lot_bundle(..., claims=PageClaims(...))`` carries them."""

    def __init__(
        self,
        store: RecordStore,
        exposure: ExposureService | None,
        footprint: FootprintSource | None,
        now: datetime,
    ) -> None:
        self._store = store
        self._exposure = exposure
        self._footprint = footprint
        self._now = now

    def cold_chain(
        self, product: Product, lot: str, bundle: Mapping[str, Any] | None
    ) -> ColdChainClaim | None:
        """``TelemetryUnavailable`` and record errors propagate: the page says
        "unavailable"."""
        if self._exposure is None:
            return None
        bands = band_at(product_history(bundle, product.gtin), Band.of(product))
        found = self._exposure.exposure(product.gtin, lot, self._now, bands)
        return ColdChainClaim.of(found, self._exposure.max_hold)

    def claims(
        self,
        product: Product,
        lot: str,
        bundle: Mapping[str, Any] | None,
        cold_chain: ColdChainClaim | None = None,
        footprint: FootprintSummary | None = None,
    ) -> LotClaims:
        """The lot's claims (``cold_chain``/``footprint``: already computed by the page)."""
        spans = CustodyService(self._store).lot_timeline(product.gtin, lot).locations()
        if cold_chain is None:
            try:
                cold_chain = self.cold_chain(product, lot, bundle)
            except (TelemetryUnavailable, TraceabilityError, Gs1Error):  # as the page says
                cold_chain = ColdChainClaim(state="unavailable")
        if footprint is None and self._footprint is not None:
            footprint = self._footprint.latest(product.gtin, lot)
        return LotClaims(
            gtin=product.gtin,
            lot=lot,
            as_of=self._now,
            journey=journey_claim(spans),
            cold_chain=cold_chain,
            footprint=FootprintClaim.of(footprint) if footprint is not None else None,
        )

    def __call__(self, bundle: dict[str, Any]) -> dict[str, Any] | None:
        """The hook ``lot_bundle`` calls with the unsigned bundle of a lot."""
        subject = bundle.get("subject") or {}
        product = self._store.get_product(str(subject.get("gtin")))
        if product is None:
            return None
        return self.claims(product, str(subject.get("lot")), bundle).to_json()


__all__ = [
    "CLAIMS_FORMAT",
    "ColdChainClaim",
    "ExcursionClaim",
    "FootprintClaim",
    "LotClaims",
    "PageClaims",
    "StayProbesClaim",
    "StopClaim",
    "band_at",
    "journey_claim",
    "product_history",
]
