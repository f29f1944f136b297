"""The consumer page per GS1 Digital Link: ``GET /01/{gtin}/10/{lot}``, and ``/healthz``.

Sync endpoints on purpose: the records store and the telemetry reader are blocking
clients, and Starlette runs sync endpoints in its threadpool instead of the event loop.
The page renders even when InfluxDB is down ("temperature unavailable", "cold-chain
record unavailable").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from traceability.anchoring import UNKNOWN_TX_HASH
from traceability.api import api_routes
from traceability.capture import CaptureService
from traceability.epcis import format_time
from traceability.errors import InvalidIdentifier, TelemetryUnavailable
from traceability.expiry import DEFAULT_NEAR_EXPIRY_DAYS, expiry_status
from traceability.exposure import ExposureService
from traceability.gs1 import Gtin, LotNumber
from traceability.records import Batch, RecordStore, StoredEvent
from traceability.telemetry import TemperaturePoint, TemperatureReader

_HERE = Path(__file__).parent


class Anchoring(BaseModel):
    """What the page says about the lot's evidence on chain."""

    model_config = ConfigDict(frozen=True)

    events: int
    pending: int
    batch: Batch | None  # the batch of the latest anchored event

    @property
    def tx_hash_known(self) -> bool:
        return self.batch is not None and self.batch.tx_hash != UNKNOWN_TX_HASH


def create_app(
    store: RecordStore,
    telemetry: TemperatureReader,
    chain_name: str,
    *,
    capture: CaptureService | None = None,
    exposure: ExposureService | None = None,
    near_expiry_days: int = DEFAULT_NEAR_EXPIRY_DAYS,
    today: Callable[[], date] | None = None,
) -> Starlette:
    """The consumer pages plus the EPCIS capture/query API and lot endpoints (api.py).

    ``capture`` defaults to a CaptureService over ``store`` without the future-time
    check; the hub passes its own, configured one. With ``exposure`` the page shows the
    lot's cold-chain status (ok / at risk / compromised, MKT, excursions); without
    InfluxDB it says "cold-chain record unavailable" and renders the rest.
    """
    clock = today or (lambda: datetime.now(UTC).date())
    templates = Jinja2Templates(directory=_HERE / "templates")
    templates.env.filters["utc"] = format_time

    def not_found(request: Request, problem: str) -> Response:
        return templates.TemplateResponse(
            request, "not_found.html", {"problem": problem}, status_code=404
        )

    def lot_page(request: Request) -> Response:
        gtin_text: str = request.path_params["gtin"]
        lot_text: str = request.path_params["lot"]
        try:
            gtin = Gtin.parse(gtin_text)
            lot = LotNumber.parse(lot_text).value
        except InvalidIdentifier as exc:
            return not_found(request, str(exc))
        if gtin.value != gtin_text:
            # GS1 Digital Link names the GTIN in its 14-digit form; send short forms there.
            target = request.url_for("lot_page", gtin=gtin.value, lot=lot)
            return RedirectResponse(str(target), status_code=301)
        product = store.get_product(gtin)
        record = store.get_lot(gtin, lot)
        if product is None or record is None:
            what = f"product {gtin.value}" if product is None else f"lot {lot} of {gtin.value}"
            return not_found(
                request, f"{what} is not registered here; check the code on the package"
            )
        events = store.events_for_lot(gtin, lot)
        last = store.last_location(gtin, lot)
        temperature: TemperaturePoint | None = None
        telemetry_problem: str | None = None
        if last is not None:
            try:
                temperature = telemetry.latest(last.location)
            except TelemetryUnavailable as exc:
                telemetry_problem = str(exc)
        context: dict[str, Any] = {
            "product": product,
            "lot": record,
            "last": last,
            "temperature": temperature,
            "telemetry_problem": telemetry_problem,
            "in_band": _in_band(temperature, product.temp_min_c, product.temp_max_c),
            "anchoring": _anchoring(store, events),
            "events": events,
            "chain_name": chain_name,
            "expiry": expiry_status(record, clock(), near_expiry_days),
            **_cold_chain(exposure, gtin.value, lot),
        }
        return templates.TemplateResponse(request, "lot.html", context)

    def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[Route | Mount] = [
        Route("/01/{gtin}/10/{lot}", lot_page, name="lot_page"),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    routes.extend(api_routes(store, capture or CaptureService(store), exposure))
    return Starlette(routes=routes)


def _cold_chain(exposure: ExposureService | None, gtin: str, lot: str) -> dict[str, Any]:
    """The page's cold-chain section: the exposure, or why there is none."""
    if exposure is None:
        return {"exposure": None, "exposure_problem": None}
    try:
        found = exposure.exposure(gtin, lot)
    except TelemetryUnavailable as exc:
        return {"exposure": None, "exposure_problem": str(exc)}
    return {"exposure": found if found.readings else None, "exposure_problem": None}


def _in_band(point: TemperaturePoint | None, low: float | None, high: float | None) -> bool | None:
    if point is None or (low is None and high is None):
        return None
    return (low is None or point.celsius >= low) and (high is None or point.celsius <= high)


def _anchoring(store: RecordStore, events: list[StoredEvent]) -> Anchoring:
    anchored = [e for e in events if e.batch_id is not None]
    batch = None
    if anchored and anchored[-1].batch_id is not None:
        batch = store.batch(anchored[-1].batch_id)
    return Anchoring(events=len(events), pending=len(events) - len(anchored), batch=batch)
