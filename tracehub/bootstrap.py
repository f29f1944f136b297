"""The wiring: every part of the hub, built from one resolved Settings value.

``wire`` is the one place that joins concrete adapters from several packages (paho
via gateway, web3 via ledger, SQLAlchemy via traceability). It opens what it builds
(stores, keystore, the chain, deploying the anchor contract where needed), so only
``tracehub.hub.Hub.open()`` calls it; each opened resource is closed by ``stack``.
Nothing runs yet: ``Hub.start()`` starts the threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from gateway.devices.directory import RegistryDirectory
from gateway.observation import ReadPointProfile
from gateway.runtime import GatewayRuntime, build_gateway
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from supervision.supervisor import Supervisor
from traceability.anchoring.auditfeeder import AuditSigningFeeder
from traceability.anchoring.feeder import EventFeeder, EventLeaves
from traceability.anchoring.loop import AnchorLoop
from traceability.audit.trail import AuditTrail
from traceability.capture import CaptureService
from traceability.capturejobs import CaptureJobs
from traceability.carbon.coldroom import InfluxColdRoomPower
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.masterdata.service import MasterData
from traceability.records.store import RecordStore
from tracehub.alerting import Alerting, wire_alerting
from tracehub.bridges import CaptureBridge, EvidenceBridge
from tracehub.capturing import capture_jobs
from tracehub.chain import Chain, anchor_worker, connect_chain
from tracehub.consolesite import console_site
from tracehub.keys import open_keystore, site_keys, site_signer
from tracehub.readiness import HubReadiness, web_status
from tracehub.retaining import require_retention
from tracehub.roles import ALL, Role
from tracehub.settings import Settings
from tracehub.site import gateway_config
from tracehub.statelock import setup_lock
from tracehub.subscribing import Subscribing, subscribing, subscriptions_for
from tracehub.website import Stores, build_website
from web.pagecache import PageCache
from web.pagefreshness import PageFreshness
from web.server import WebServer


@dataclass(frozen=True)
class HubParts:
    store: RecordStore
    ledger: LedgerStore
    signer: Signer
    chain: Chain
    pages: PageCache
    gateway: GatewayRuntime | None  # None: not this process's role
    anchoring: AnchorLoop
    alerting: Alerting  # alarm rules -> incidents -> notifications
    coldroom_power: InfluxColdRoomPower
    web: WebServer
    master: MasterData  # the one write path of products, lots, locations (signed)
    # Runs the anchoring and gateway loops, restarts them when they die; /readyz shows it.
    supervisor: Supervisor
    readiness: HubReadiness
    capture_jobs: CaptureJobs  # POST /capture's worker (tracehub.capturing)
    subscriptions: Subscribing  # named queries, subscriptions, webhook delivery
    audit: AuditTrail  # every write's entry: master data, incident steps (the console's)
    # A web instance's cached pages hear of what other processes write (web.pagefreshness).
    freshness: PageFreshness


def wire(
    settings: Settings,
    read_points: Mapping[str, ReadPointProfile],
    stack: ExitStack,
    instance: str,
    roles: frozenset[Role] = ALL,
) -> HubParts:
    """Open and wire the hub's parts (``settings`` resolved: MQTT port, InfluxDB URL);
    ``instance``: this process, in the leases it takes; without the ``gateway`` role no
    gateway is built (it would provision its MQTT identity)."""
    cfg, influx = settings.chain, settings.influx
    assert influx.url is not None  # Hub checks it at construction
    settings.hub.state_dir.mkdir(parents=True, exist_ok=True)
    store = stack.enter_context(closing(RecordStore.open(settings.records_url)))
    # Replicas sharing the keys folder make a missing site key or contract one at a time.
    with setup_lock(settings.ledger_keys_dir):
        keys = open_keystore(settings)
        chain = connect_chain(settings, keys)
        signer = site_signer(keys, settings)
    ledger = stack.enter_context(closing(LedgerStore.open(settings.ledger_url)))
    renew = partial(site_signer, keys, settings)  # after `tracehub ledger rotate-key`
    # Devices and partners with a clock ahead of real time are rejected (issue #4).
    ahead = settings.records.future_tolerance_s
    # Every accepted event is signed into the ledger before it is stored (its capture
    # receipt); the feeder only mirrors anchors back and signs nothing.
    # Every event the hub stores is matched against the query subscriptions in the
    # transaction that stores it (their outbox: tracehub.subscribing).
    subscriptions = subscriptions_for(settings, store)
    capture = CaptureService(
        store,
        ledger=EventLeaves(ledger, signer, renew_signer=renew),
        future_tolerance=None if ahead is None else timedelta(seconds=ahead),
        on_stored=subscriptions.on_stored,
    )
    # Captures and anchors change what a lot's page says: they drop its cached copy.
    pages = PageCache(settings.web.page_ttl_s)
    audit = AuditTrail(
        store,
        ledger,
        signer,
        renew=renew,
        on_lot=pages.invalidate,
        trusted=partial(site_keys, keys, settings),  # the keystore's, not the ledger's table
    )
    supervisor = Supervisor()
    # Refused here, before anything runs, if it would delete readings still under seal.
    retention = require_retention(settings, ledger)
    gateway = (
        None
        if "gateway" not in roles
        else build_gateway(
            gateway_config(settings, read_points).model_copy(
                update={"influx_retention": retention}
            ),
            # the gateway's events are signed as sent by it (their capture receipts)
            CaptureBridge(
                capture, on_lot=pages.invalidate, source=f"gateway:{settings.mqtt.client_id}"
            ),
            EvidenceBridge(RecordSubmitter(ledger, signer, renew=renew)),
            # A probe's location is its identity's placement in the registry, never the payload's.
            RegistryDirectory(settings.devices_dir),
            supervisor=supervisor,
        )
    )
    anchoring = AnchorLoop(
        # each round also signs the audit entries a ledger outage left unsigned
        AuditSigningFeeder(EventFeeder(store, ledger, limit=cfg.max_batch), audit),
        anchor_worker(settings, ledger, chain),
        on_anchored=pages.invalidate_all,
        supervisor=supervisor,
    )
    telemetry = stack.enter_context(closing(InfluxTemperatureReader(influx.url, influx.database)))
    power = stack.enter_context(closing(InfluxColdRoomPower(influx.url, influx.database)))
    readiness = HubReadiness(supervisor, store, ledger, chain)
    stack.callback(readiness.close)
    alerting = wire_alerting(
        settings, store, ledger, signer, capture, supervisor, renew, stack,
        on_lot=pages.invalidate, audit=audit, instance=instance,
    )  # fmt: skip
    jobs = capture_jobs(store, capture, pages, supervisor)
    master = MasterData(store, ledger, signer, renew=renew, audit=audit)
    web = build_website(
        settings, Stores(store, ledger, keys), chain, capture, pages, telemetry, power, renew,
        readiness=readiness, incidents=alerting.incidents, capture_jobs=jobs,
        subscriptions=subscriptions, audit=audit,
        console=partial(
            console_site, settings, store, ledger, telemetry, pages=pages, audit=audit,
            incidents=alerting.incidents, readiness=readiness, stack=stack, master=master,
            renew=renew,
        ),
    )  # fmt: skip
    stack.callback(web.stop)
    # uvicorn's thread cannot be restarted from here: watched, so /readyz says if it died.
    supervisor.watch("web", partial(web_status, web))
    return HubParts(
        store, ledger, signer, chain, pages, gateway, anchoring, alerting, power, web,
        master=master, supervisor=supervisor, readiness=readiness, capture_jobs=jobs,
        subscriptions=subscribing(settings, subscriptions, supervisor), audit=audit,
        freshness=PageFreshness(store, ledger, pages, supervisor),
    )  # fmt: skip
