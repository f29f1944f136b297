"""The temperature report as data: frozen, built once, rendered to HTML and PDF."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from traceability.audit.entry import ESignature
from web.lotview import LotView


class ProbeLine(BaseModel):
    """One probe's readings of one stay of the lot, and its calibration then."""

    model_config = ConfigDict(frozen=True)

    place: str  # the place's name, else its URN
    urn: str
    device: str | None  # the probe (``epcis:…`` for a room's sensor events); None: unnamed
    start: datetime
    end: datetime
    readings: int
    min_c: float | None
    max_c: float | None
    calibration: str  # what the calibration records say of the probe over the stay


class ExcursionLine(BaseModel):
    """An excursion, where and when, and the incident that covers it (if any)."""

    model_config = ConfigDict(frozen=True)

    place: str
    start: datetime
    end: datetime
    minutes: float
    peak_c: float
    device: str | None
    incident: str | None  # the incident open over it; None: no incident recorded
    disposition: str | None  # release / quarantine / reject; None: not decided
    disposed_by: str | None


class TemperatureReport(BaseModel):
    """One lot's temperature report: the page's view plus the inspector's details."""

    model_config = ConfigDict(frozen=True)

    view: LotView
    site: str
    lot_url: str  # the lot's GS1 Digital Link (the QR code on the report)
    probes: tuple[ProbeLine, ...]
    excursions: tuple[ExcursionLine, ...]
    generated_at: datetime
    release: ESignature | None = None  # who released it; None: a draft, not signed

    @property
    def anchored(self) -> bool:
        """Every record of the lot is in an anchored batch."""
        proofs = self.view.proofs
        return proofs.total > 0 and proofs.anchored == proofs.total
