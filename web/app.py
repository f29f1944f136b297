"""The web app's route table: what is served where, and how errors are answered.

* ``/01/…``, ``/gtin/…`` — the consumer page per GS1 Digital Link (``web.pages``).
* ``/evidence/{gtin}/{lot}`` — the lot's evidence bundle as a download (when public).
* ``/healthz`` — liveness (``web.health``).
* ``/.well-known/tracehub.json`` — the site's trust anchors: key fingerprints, the
  anchor contract (``web.wellknown``).
* ``/static/…`` — the pages' CSS and proof-check script, served locally (no CDN).
* ``/openapi.json`` — the OpenAPI document of the routes served here (``web.openapi``),
  ``read`` scope.
* ``/auditor/…`` — raw data for clients with the ``auditor`` scope (``web.auditor``), the
  audit trail (``web.audittrail``) and the FSMA 204 spreadsheet (``web.fsmaexport``).
* ``/epcis/…``, ``/lots/…`` — the EPCIS capture/query API (``web.api``): capture needs
  the ``capture`` scope, the reads the ``read`` scope unless the site's reads are public.
* ``/incidents…`` — incidents and their steps (``web.incidents``): reads, ack, assess
  and close ``operator``, dispose ``quality`` (``admin`` implies both); served when
  given ``incidents``. Reading is ``operator``, not ``read``, so public reads (the demo)
  never make incidents public: they name places and devices.

Who may call what is declared here, per route (``API_SCOPES``; ``web.access`` checks
the bearer token): a route of ``web.api`` without a declared scope fails the app's
construction, so nothing is served open by omission. Consumer pages, ``/healthz``,
``/.well-known``, ``/static`` and public evidence downloads need no token.

Errors of the JSON endpoints are ``web.problem.Problem`` exceptions, answered by the
one handler registered here as RFC 9457 problem details.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from traceability.anchoring.proofs import ChainIdentity, EvidenceSource
from traceability.capture import CaptureService
from traceability.capturejobs import CaptureJobs
from traceability.carbon.lotfootprint import FootprintSource
from traceability.coldchain.exposure import ExposureService, TemperatureSeries
from traceability.expiry import DEFAULT_NEAR_EXPIRY_DAYS
from traceability.incidents.service import IncidentService
from traceability.records.clients import Scope
from traceability.records.store import RecordStore
from traceability.subscriptions.service import Subscriptions
from web.access import Access, ClientDirectory
from web.api import api_routes
from web.auditor import TelemetryWindow, auditor_routes
from web.audittrail import AuditSource, audit_routes
from web.capture import capture_routes
from web.epcisquery import query_routes
from web.fsmaexport import fsma_routes
from web.health import healthz, readyz
from web.incidents import incident_routes
from web.limits import Limits, RequestLimits
from web.lotpage import LotPageBuilder
from web.openapi import OpenApi
from web.pagecache import DEFAULT_TTL_S, PageCache
from web.pages import LotPages
from web.problem import Problem, handle_problem
from web.queries import named_query_routes
from web.renderer import Renderer
from web.report.build import CalibrationSource, ReportBuilder
from web.report.placebuild import PlaceReportBuilder
from web.report.rendering import ReportPdfs
from web.report.route import report_routes
from web.wellknown import TrustPublisher, WellKnown

STATIC = Path(__file__).parent / "static"
# The binding's problem type of a refused credential (its 401 and 403 answers).
SECURITY_EXCEPTION = "epcisException:SecurityException"
# A scope, or a scope per method (``web.access.Access.protect``).
API_SCOPES: dict[str, Scope | dict[str, Scope]] = {
    # The EPCIS 2.0 REST binding (issue #15): web.capture, web.epcisquery, web.queries.
    "/capture": {"GET": "capture", "POST": "capture"},
    "/capture/{captureID}": "capture",
    "/epcis/capture": "capture",  # today's route, kept as an alias of /capture
    "/": "read",
    "/events": "read",
    "/events/{eventID}": "read",
    "/eventTypes": "read",
    "/eventTypes/{eventType}": "read",
    "/eventTypes/{eventType}/events": "read",
    "/epcs": "read",
    "/epcs/{epc}": "read",
    "/epcs/{epc}/events": "read",
    "/bizSteps": "read",
    "/bizSteps/{bizStep}": "read",
    "/bizSteps/{bizStep}/events": "read",
    "/bizLocations": "read",
    "/bizLocations/{bizLocation}": "read",
    "/bizLocations/{bizLocation}/events": "read",
    "/readPoints": "read",
    "/readPoints/{readPoint}": "read",
    "/readPoints/{readPoint}/events": "read",
    "/dispositions": "read",
    "/dispositions/{disposition}": "read",
    "/dispositions/{disposition}/events": "read",
    "/nextPageToken/{token}": "read",
    # A named query is its owner's: which lots a partner follows is not public.
    "/queries": {"GET": "subscribe", "POST": "subscribe"},
    "/queries/{queryName}": {"GET": "subscribe", "DELETE": "subscribe"},
    "/queries/{queryName}/events": "subscribe",
    "/queries/{queryName}/subscriptions": {"GET": "subscribe", "POST": "subscribe"},
    "/queries/{queryName}/subscriptions/{subscriptionID}": {
        "GET": "subscribe",
        "DELETE": "subscribe",
    },
    "/openapi.json": "read",
    # tracehub's own (not in the binding)
    "/epcis/events": "read",
    "/lots/{gtin}/{lot}/custody": "read",
    "/lots/{gtin}/{lot}/recall": "read",
    "/lots/{gtin}/{lot}/exposure": "read",
    # web.incidents (served when the app is given an IncidentService)
    "/incidents": "operator",  # not "read": public reads would expose places and devices
    "/incidents/{incident_id}": "operator",
    "/incidents/{incident_id}/ack": "operator",
    "/incidents/{incident_id}/assess": "operator",
    "/incidents/{incident_id}/close": "operator",
    "/incidents/{incident_id}/dispose": "quality",
}


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
    clients: ClientDirectory | None = None,
    public_read: bool = False,
    cache: PageCache | None = None,
    near_expiry_days: int = DEFAULT_NEAR_EXPIRY_DAYS,
    today: Callable[[], date] | None = None,
    now: Callable[[], datetime] | None = None,
    trust: TrustPublisher | None = None,
    limits: Limits | None = None,
    chain: ChainIdentity | None = None,
    incidents: IncidentService | None = None,
    capture_jobs: CaptureJobs | None = None,
    subscriptions: Subscriptions | None = None,
    audit: AuditSource | None = None,
    site: str = "tracehub",
    calibration: CalibrationSource | None = None,
    places: PlaceReportBuilder | None = None,
) -> Starlette:
    """The web app. Ports (all optional, the page says what it lacks):

    ``exposure`` the cold-chain verdict; ``series`` the temperature buckets for the
    chart; ``footprint`` the carbon footprint; ``evidence`` the lot's evidence bundle
    (in-page proof check, download, auditor API; without it the records' own batches
    are shown). ``clients`` resolves bearer tokens (default: the records' clients);
    ``public_read`` serves the read API without one (the demo).
    ``telemetry`` serves the auditor's raw windows. ``trust`` publishes the site's
    trust anchors at ``/.well-known/tracehub.json``. ``limits`` bounds the work of
    every request (``web.limits``; the defaults when None). ``chain`` is the chain the
    hub anchors on now: the page shows no anchor on another as on chain.
    ``capture_jobs`` takes ``POST /capture`` documents (``web.capture``); without one the
    app builds its own over ``capture`` and, no worker being started, captures each job
    in the background of the request that submitted it. ``subscriptions`` serves the
    named queries and their subscriptions (``web.queries``; the hub's, whose hook its
    capture carries; without one the app builds its own over ``store``). ``audit``: the
    audit trail served to auditors at ``/auditor/audit`` (``web.audittrail``). ``site``
    names the site on temperature reports (``web.report``), ``calibration`` what the
    probes' calibration records say there; ``places`` builds the storage places' reports.
    """
    bounds = limits or Limits()
    access = Access(clients if clients is not None else store, public_read=public_read)
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
        chain=chain,
    )
    pages = LotPages(
        store, builder, Renderer(), cached, evidence=evidence, evidence_public=evidence_public
    )
    api = api_routes(store, exposure)
    # Named queries and subscriptions (web.queries); the default capture feeds their outbox.
    subs = subscriptions if subscriptions is not None else Subscriptions(store)
    jobs = capture_jobs or CaptureJobs(
        store,
        capture or CaptureService(store, on_stored=subs.on_stored),
        on_captured=cached.invalidate,
    )
    # the temperature reports (web.report): auditors here, the console's release too
    reports = ReportPdfs(
        ReportBuilder(store, builder, exposure, site=site, calibration=calibration), places
    )
    routes: list[BaseRoute] = [
        Route("/01/{rest:path}", pages.digital_link, name="digital_link"),
        Route("/gtin/{rest:path}", pages.digital_link),
        Route("/evidence/{gtin}/{lot}", pages.evidence_download),
        Route("/healthz", healthz),
        Route("/readyz", readyz),  # readiness: app.state.readiness (web.health)
        Route(WellKnown.path, WellKnown(trust).trust, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
        *(
            access.protect(route, "auditor")
            for route in auditor_routes(
                store, telemetry=telemetry, exposure=exposure, evidence=evidence
            )
        ),
        *(
            access.protect(route, "auditor")
            for route in ([] if audit is None else audit_routes(audit))
        ),
        *(access.protect(route, "auditor") for route in fsma_routes(store)),  # web.fsmaexport
        *(access.protect(route, "auditor") for route in report_routes(store, reports)),
        *(access.protect(route, API_SCOPES[route.path]) for route in api),
        access.protect(
            Route("/openapi.json", OpenApi(API_SCOPES).endpoint), API_SCOPES["/openapi.json"]
        ),
        # The EPCIS 2.0 REST binding (issue #15); each slice owns its module.
        *(
            access.protect(route, API_SCOPES[route.path], problem_type=SECURITY_EXCEPTION)
            for route in capture_routes(jobs, bounds)
        ),
        *(  # ids and EPCs in paths hold slashes (``{eventID:path}``)
            access.protect(
                route,
                API_SCOPES[route.path.replace(":path}", "}")],
                problem_type=SECURITY_EXCEPTION,
            )
            for route in query_routes(store)
        ),
        *(  # the WebSocket route authenticates its own handshake
            access.protect(route, API_SCOPES[route.path], problem_type=SECURITY_EXCEPTION)
            if isinstance(route, Route)
            else route
            for route in named_query_routes(subs, access, bounds)
        ),
        *(
            access.protect(route, API_SCOPES[route.path])
            for route in (
                []
                if incidents is None
                else incident_routes(incidents, bounds, on_step=cached.invalidate)
            )
        ),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={Problem: handle_problem},
        middleware=[Middleware(RequestLimits, limits=bounds)],  # before any endpoint
    )
    app.state.pages = cached
    app.state.reports = reports  # the console releases the same reports (tracehub.website)
    app.state.access = access  # /readyz shows its details to admin clients
    return app
