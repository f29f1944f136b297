"""The consumer lot page as data: the frozen values the template renders (what a shopper
may see, each fact with its proof state). ``web.lotpage`` builds them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from traceability.anchoring.claims import LotClaims
from traceability.anchoring.proofs import PageProofs
from traceability.anchoring.seals import (
    WindowStatus,
)
from traceability.calibration.status import StayCalibration
from traceability.carbon.lotfootprint import FootprintSummary
from traceability.coldchain.budget import BudgetUse
from traceability.expiry import ExpiryStatus
from traceability.masterdata.compare import FactState
from traceability.masterdata.facts import LotFacts, Unproven
from traceability.records.entities import Lot, Product
from web.chart import ChartBucket

ColdChainState = Literal["ok", "at_risk", "compromised", "unavailable", "no_record"]


class Stop(BaseModel):
    """One place on the lot's journey."""

    model_config = ConfigDict(frozen=True)

    name: str | None  # None: not recorded, the page says "warehouse location"
    kind: str | None
    country: str | None
    arrived: datetime
    left: datetime | None
    # Whether an anchored version of the place backs name/kind/country (None: the page
    # has no evidence source and claims nothing).
    state: FactState | None = None
    # The probes that read the stay while out of calibration (overdue, or none on record):
    # from the site's signed calibration records; the page names no probe (privacy).
    calibration: tuple[StayCalibration, ...] = ()


class Excursion(BaseModel):
    model_config = ConfigDict(frozen=True)

    place: str | None
    start: datetime
    end: datetime
    minutes: float
    peak_c: float


class ColdChain(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: ColdChainState
    mkt_c: float | None = None
    min_c: float | None = None
    max_c: float | None = None
    minutes_out: float = 0.0
    budget_min: float | None = None
    mkt_limit_c: float | None = None
    excursions: tuple[Excursion, ...] = ()
    chart: tuple[ChartBucket, ...] = ()
    # Hours of the lot's stays covered by the gateway's sealed telemetry windows: proven
    # (anchored seal), sealed (not anchored yet), open (no seal yet), changed (InfluxDB
    # no longer holds what was sealed). None: no evidence.
    windows: WindowStatus | None = None
    # The band the verdict was judged against (the newest stay's) and the product
    # versions of the stays (None among them: the records' row, no anchored version).
    band_min_c: float | None = None
    band_max_c: float | None = None
    versions: tuple[int | None, ...] = ()
    # What the journey left of the product's stability budget, per step (None: no
    # budget), and the minutes no reading covered (shown; not judged).
    budget: BudgetUse | None = None
    unmonitored_min: float = 0.0

    @property
    def band_unanchored(self) -> bool:
        return None in self.versions

    @property
    def readings_changed(self) -> bool:
        """The verdict was computed from readings that differ from their seals."""
        return self.windows is not None and self.windows.changed > 0

    @property
    def version_text(self) -> str:
        return ", ".join(str(v) for v in self.versions if v is not None)


class Recall(BaseModel):
    model_config = ConfigDict(frozen=True)

    since: datetime


class IncidentNote(BaseModel):
    """One incident of the lot, as its signed steps tell it (never the incidents table)."""

    model_config = ConfigDict(frozen=True)

    incident: str
    valid: bool  # False: a step record was altered or the lifecycle does not hold
    started: datetime | None = None
    minutes: float | None = None
    disposition: str | None = None  # release / quarantine / reject; None: not decided
    by_role: str | None = None  # the role of who disposed (quality, admin)
    anchored: bool = False
    ongoing: bool = False  # an alarm of it has no signed clearing yet: still going on


class LotView(BaseModel):
    model_config = ConfigDict(frozen=True)

    product: Product
    lot: Lot
    serial: str | None
    unit_place: str | None  # the unit's current place name (unit pages)
    expiry: ExpiryStatus
    journey: tuple[Stop, ...]
    cold_chain: ColdChain
    recall: Recall | None
    footprint: FootprintSummary | None
    proofs: PageProofs
    chain_name: str
    evidence_public: bool
    built_at: datetime
    # The master data against its signed versions (None: no evidence source).
    facts: LotFacts | None = None
    unproven: tuple[Unproven, ...] = ()
    # What the page states, as the lot's bundle carries it (``claims.LotClaims``).
    claims: LotClaims | None = None
    # The lot's incidents from their signed steps (``traceability.incidents.lifecycle``).
    incidents: tuple[IncidentNote, ...] = ()

    def proven(self, subject: str, *fields: str) -> bool:
        """True when every field is backed by an anchored version (the template's test
        before it puts a fact under the "On chain" claim)."""
        return self.facts is not None and self.facts.proven(subject, *fields)

    def fact_state(self, subject: str, *fields: str) -> FactState | None:
        """The weakest state of the fields (None: no evidence source, nothing claimed)."""
        if self.facts is None:
            return None
        states = [self.facts.state(subject, f) for f in fields]
        order = ("proven", "pending", "unsigned", "changed")
        return max(states, key=order.index)
