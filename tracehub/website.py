"""The hub's web site: lot pages, the EPCIS and auditor APIs, evidence downloads and the
trust document, over the stores and the chain the wiring opened. API clients are the
records' (``tracehub clients``); the Host header must name the public URL's host (or a
loopback name) once ``TRACEHUB_WEB_PUBLIC_URL`` is set.

Building binds the listening socket (so the URL is known once the hub is open) and
starts nothing: ``WebServer.start()`` serves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from ledger.evm.contract import genesis_hash
from ledger.evm.reader import ChainReader
from ledger.signing import Signer
from ledger.store.keystore import KeyStore
from ledger.store.sqlstore import LedgerStore
from traceability.anchoring.claims import PageClaims
from traceability.anchoring.proofs import ChainIdentity, LedgerEvidence
from traceability.capture import CaptureService
from traceability.capturejobs import CaptureJobs
from traceability.carbon.coldroom import InfluxColdRoomPower
from traceability.carbon.lotfootprint import LedgerFootprint, RecordsFootprint
from traceability.coldchain.exposure import ExposureService, TemperatureSeries
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.incidents.service import IncidentService
from traceability.masterdata.calibration import SignedCalibrationSource
from traceability.records.store import RecordStore
from traceability.subscriptions.service import Subscriptions
from tracehub.chain import Chain
from tracehub.settings import Settings
from tracehub.temperatures import lot_series
from web.access import HostCheck, allowed_hosts
from web.app import create_app
from web.audittrail import AuditSource
from web.console.site import console_route
from web.health import ReadinessSource
from web.pagecache import PageCache
from web.report.placebuild import PlaceReportBuilder
from web.report.rendering import ReportPdfs
from web.server import WebServer, rpc_route
from web.wellknown import TrustPublisher


class ConsoleFactory(Protocol):
    """The console's routes over the site's temperatures (``tracehub.consolesite``)."""

    def __call__(
        self, *, series: TemperatureSeries, exposure: ExposureService, reports: ReportPdfs
    ) -> Sequence[BaseRoute]: ...


@dataclass(frozen=True)
class Stores:
    """The opened stores the site reads: records, ledger, and the keystore (trust)."""

    records: RecordStore
    ledger: LedgerStore
    keys: KeyStore


def build_website(
    settings: Settings,
    stores: Stores,
    chain: Chain,
    capture: CaptureService,
    pages: PageCache,
    telemetry: InfluxTemperatureReader,
    power: InfluxColdRoomPower,
    renew: Callable[[], Signer],
    readiness: ReadinessSource | None = None,
    incidents: IncidentService | None = None,
    capture_jobs: CaptureJobs | None = None,
    subscriptions: Subscriptions | None = None,
    console: ConsoleFactory | None = None,
    audit: AuditSource | None = None,
) -> WebServer:
    """``readiness``: what ``/readyz`` reports (``tracehub.readiness.HubReadiness``);
    ``incidents``: served at ``/incidents`` (``web.incidents``); ``capture_jobs``: where
    ``POST /capture`` puts documents (``tracehub.capturing``); ``subscriptions``: the
    named queries and subscriptions at ``/queries`` (``tracehub.subscribing``);
    ``console``: the operator console at ``/console`` (``tracehub.consolesite``);
    ``audit``: the audit trail, served to auditors at ``/auditor/audit``."""
    store, ledger, keys = stores.records, stores.ledger, stores.keys
    # The gateway's probes and the rooms' sensor-only EPCIS events (issue #15).
    series = lot_series(store, telemetry)
    # Each stay's probes flagged by the site's signed calibration records (issue #20).
    calibrations = SignedCalibrationSource(ledger)
    exposure = ExposureService(store, series, calibrations=calibrations)
    # The lot's anchored carbon report first, else computed from the records.
    footprint = LedgerFootprint(ledger, RecordsFootprint(store, power))
    limits = settings.web.limits()
    # Which chain the hub anchors on now, so no page shows an anchor on a reset chain as
    # on chain before the anchoring worker's audit has marked it (it waits for the lease).
    here = ChainIdentity(chain_id=int(chain.w3.eth.chain_id), genesis_hash=genesis_hash(chain.w3))
    app = create_app(
        store,
        telemetry,
        chain.name,
        capture=capture,
        capture_jobs=capture_jobs,
        subscriptions=subscriptions,
        limits=limits,
        chain=here,
        exposure=exposure,
        near_expiry_days=settings.records.near_expiry_days,
        series=series,
        footprint=footprint,
        # Renewed after a rotation, so exported manifests match the trust document.
        evidence=LedgerEvidence(
            store,
            ledger,
            renew(),
            settings.ledger.confirmations,
            renew_signer=renew,
            claims=partial(PageClaims, store, exposure, footprint),
        ),
        evidence_public=settings.web.public_evidence,
        # Bearer tokens resolve against the records' clients (shared by every replica).
        public_read=settings.web.public_read,
        cache=pages,
        incidents=incidents,
        audit=audit,
        site=settings.hub.site,  # named on the temperature reports
        calibration=calibrations,
        places=PlaceReportBuilder(
            store,
            ledger,
            series,
            site=settings.hub.site,
            stored=telemetry,
            calibration=calibrations,
        ),
        # The site's trust anchors, read from the keystore (not the databases) and chain.
        trust=TrustPublisher(
            settings.hub.site,
            keys.public_keys,
            ChainReader(chain.w3),
            chain.anchorer.contract,
            settings.web.public_url,
        ),
    )
    app.state.readiness = readiness  # read by /readyz (web.health)
    rpc = [rpc_route(chain.w3, limits)] if chain.embedded else []
    # The Host check wraps everything, /rpc too: a re-pointed name (DNS rebinding) reaches
    # nothing through a visitor's browser.
    hosts = allowed_hosts(settings.web.public_url)
    # The console's pages judge the same temperatures as the lot pages.
    panel = (
        []
        if console is None
        else [
            console_route(
                console(series=series, exposure=exposure, reports=app.state.reports), limits
            )
        ]
    )
    site = Starlette(
        routes=[*rpc, *panel, Mount("/", app)], middleware=[Middleware(HostCheck, hosts=hosts)]
    )
    web = WebServer(site, settings.web.host, settings.web.port, limits)
    web.bind()  # the URL is known once the hub is open
    return web
