"""The web app's route table: what is served where, and how errors are answered.

* ``/01/…``, ``/gtin/…`` — the consumer page per GS1 Digital Link (``web.pages``).
* ``/evidence/{gtin}/{lot}`` — the lot's evidence bundle as a download (when public).
* ``/healthz`` — liveness (``web.health``).
* ``/.well-known/tracehub.json`` — the site's trust anchors: key fingerprints, the
  anchor contract (``web.wellknown``).
* ``/static/…`` — the pages' CSS and proof-check script, served locally (no CDN).
* ``/auditor/…`` — token-protected raw data (``web.auditor``).
* ``/epcis/…``, ``/lots/…`` — the EPCIS capture/query API (``web.api``); with
  auditor tokens configured, its read endpoints need a token too.

Errors of the JSON endpoints are ``web.problem.Problem`` exceptions, answered by the
one handler registered here as RFC 9457 problem details.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from traceability.anchoring.proofs import EvidenceSource
from traceability.capture import CaptureService
from traceability.carbon.lotfootprint import FootprintSource
from traceability.coldchain.exposure import ExposureService, TemperatureSeries
from traceability.expiry import DEFAULT_NEAR_EXPIRY_DAYS
from traceability.records.store import RecordStore
from web.api import api_routes
from web.auditor import TelemetryWindow, TokenCheck, auditor_routes, guarded
from web.health import healthz
from web.lotpage import LotPageBuilder
from web.pagecache import DEFAULT_TTL_S, PageCache
from web.pages import LotPages
from web.problem import Problem, handle_problem
from web.renderer import Renderer
from web.wellknown import TrustPublisher, WellKnown

STATIC = Path(__file__).parent / "static"


def create_app(
    store: RecordStore,
    telemetry: TelemetryWindow | None,
    chain_name: str,
    *,
    capture: CaptureService | None = None,
    exposure: ExposureService | None = None,
    series: TemperatureSeries | None = None,
    footprint: FootprintSource | None = None,
    evidence: EvidenceSource | None = None,
    evidence_public: bool = True,
    auditor_tokens: Iterable[str] = (),
    cache: PageCache | None = None,
    near_expiry_days: int = DEFAULT_NEAR_EXPIRY_DAYS,
    today: Callable[[], date] | None = None,
    now: Callable[[], datetime] | None = None,
    trust: TrustPublisher | None = None,
) -> Starlette:
    """The web app. Ports (all optional, the page says what it lacks):

    ``exposure`` the cold-chain verdict; ``series`` the temperature buckets for the
    chart; ``footprint`` the carbon footprint; ``evidence`` the lot's evidence bundle
    (in-page proof check, download, auditor API; without it the records' own batches
    are shown). ``auditor_tokens`` are SHA-256 hex digests of bearer tokens.
    ``telemetry`` serves the auditor's raw windows. ``trust`` publishes the site's
    trust anchors at ``/.well-known/tracehub.json``.
    """
    tokens = TokenCheck(auditor_tokens)
    cached = cache if cache is not None else PageCache(DEFAULT_TTL_S)
    builder = LotPageBuilder(
        store,
        chain_name,
        exposure=exposure,
        series=series,
        footprint=footprint,
        evidence=evidence,
        evidence_public=evidence_public and evidence is not None,
        near_expiry_days=near_expiry_days,
        today=today,
        now=now,
    )
    pages = LotPages(
        store, builder, Renderer(), cached, evidence=evidence, evidence_public=evidence_public
    )
    api = api_routes(
        store, capture or CaptureService(store), exposure, on_capture=cached.invalidate
    )
    routes: list[BaseRoute] = [
        Route("/01/{rest:path}", pages.digital_link, name="digital_link"),
        Route("/gtin/{rest:path}", pages.digital_link),
        Route("/evidence/{gtin}/{lot}", pages.evidence_download),
        Route("/healthz", healthz),
        Route(WellKnown.path, WellKnown(trust).trust, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *auditor_routes(
            store,
            tokens,
            telemetry=telemetry,
            exposure=exposure,
            evidence=evidence,
        ),
        *([guarded(route, tokens) for route in api] if tokens.enabled else api),
    ]
    app = Starlette(routes=routes, exception_handlers={Problem: handle_problem})
    app.state.pages = cached
    return app
