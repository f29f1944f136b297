"""The composition root: build every part of the hub from one Settings value.

This is the only module that imports concrete adapters from several packages
(paho via gateway, web3 via ledger, SQLAlchemy via traceability) and wires
them together. Building does not connect; ``Hub.start()`` does, and
``Hub.stop()`` undoes it in reverse order.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from web3 import Web3

from gateway.devices.access import Identity, identity_for_topic
from gateway.devices.registry import DeviceRegistry
from gateway.errors import (
    CaptureRejected,
    CaptureUnavailable,
    EvidenceUnavailable,
    IdentityError,
)
from gateway.observation import ReadPointProfile
from gateway.runtime import GatewayConfig, GatewayRuntime, build_gateway
from ledger.anchor import OnChainAnchor
from ledger.errors import ChainError, LedgerError
from ledger.errors import StoreUnavailable as LedgerStoreUnavailable
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3, rpc_web3
from ledger.evm.rpcbridge import handle_jsonrpc
from ledger.evm.sender import AnchorSender, fund_account
from ledger.fees import GWEI, FeePolicy
from ledger.signing import Signer
from ledger.store.keystore import KeyStore
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from ledger.worker import AnchorWorker, BatchPolicy
from sensors.credentials import AuthFor, MqttAuth
from traceability.anchoring.feeder import BatchSummary, EventFeeder
from traceability.anchoring.proofs import LedgerEvidence
from traceability.capture import CaptureService
from traceability.carbon.coldroom import InfluxColdRoomPower
from traceability.carbon.lotfootprint import LedgerFootprint, RecordsFootprint
from traceability.coldchain.exposure import ExposureService
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.errors import EventRejected, StoreUnavailable, TraceabilityError
from traceability.records.store import RecordStore
from tracehub.services import BrokerTls, InfluxDB, Mosquitto
from tracehub.settings import Settings
from web.app import create_app
from web.pagecache import PageCache

log = logging.getLogger(__name__)


class CaptureBridge:
    """The gateway's CapturePort, served in-process by traceability's CaptureService.

    Translates traceability's errors into the gateway's: a rejected event is
    dead-lettered, an unavailable store makes the gateway retry.
    """

    def __init__(
        self, service: CaptureService, on_lot: Callable[[str, str], None] | None = None
    ) -> None:
        self._service = service
        self._on_lot = on_lot

    def capture(self, event: Mapping[str, Any]) -> str:
        try:
            outcome = self._service.capture(event)
            if self._on_lot is not None and outcome.created:
                # the lot's cached pages no longer tell the whole journey
                for gtin, lot in outcome.lots:
                    self._on_lot(gtin, lot)
            return outcome.event_id
        except EventRejected as exc:
            raise CaptureRejected(str(exc), field=exc.field) from exc
        except StoreUnavailable as exc:
            raise CaptureUnavailable(str(exc)) from exc


class EvidenceBridge:
    """The gateway's EvidencePort, served by the ledger: each telemetry completeness
    digest becomes a signed leaf, chained per device so a dropped window shows.

    A ledger store outage makes the gateway offer the record again later; a record
    the ledger refuses outright (it cannot be canonicalised) is logged and dropped,
    because offering it again would fail the same way forever.
    """

    def __init__(self, submitter: RecordSubmitter) -> None:
        self._submitter = submitter

    def submit(self, kind: str, record: Mapping[str, Any]) -> None:
        device = record.get("device")
        streams = (f"device:{device}",) if isinstance(device, str) else ()
        try:
            self._submitter.submit(kind, dict(record), streams=streams)
        except LedgerStoreUnavailable as exc:
            raise EvidenceUnavailable(str(exc)) from exc
        except LedgerError as exc:
            log.error("ledger refused %s evidence for %s: %s", kind, device, exc)


def gateway_file_options(settings: Settings) -> dict[str, Any]:
    """GatewayConfig fields from TRACEHUB_GATEWAY_CONFIG_FILE (OPC UA endpoints, AGV
    profiles, known devices...); the settings above win where both say something."""
    path = settings.gateway.config_file
    if path is None:
        return {}
    try:
        options = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"TRACEHUB_GATEWAY_CONFIG_FILE {path}: cannot read JSON: {exc}") from exc
    if not isinstance(options, dict):
        raise ValueError(f"TRACEHUB_GATEWAY_CONFIG_FILE {path}: must hold a JSON object")
    fixed = {"mqtt_host", "mqtt_port", "mqtt_client_id", "influx_url", "influx_database",
             "dead_letter_path", "read_points", "mqtt_share_group", "spool_max_bytes",
             "mqtt_auth"}  # fmt: skip
    return {k: v for k, v in options.items() if k not in fixed}


def open_device_registry(settings: Settings) -> DeviceRegistry:
    """The site's device registry (CA, identities), keys encrypted at rest."""
    secret = settings.devices.passphrase
    return DeviceRegistry.open(
        settings.devices_dir, secret.get_secret_value() if secret else None, settings.hub.site
    )


def gateway_identity(settings: Settings) -> Identity:
    return Identity(kind="gateway", device_id=settings.mqtt.client_id)


def gateway_auth(settings: Settings) -> MqttAuth | None:
    """The gateway's TLS credentials when the broker is secured (docs/security.md)."""
    if settings.mqtt.security != "tls":
        return None
    registry = open_device_registry(settings)
    identity = gateway_identity(settings)
    try:
        return registry.credentials(identity.username)
    except IdentityError:  # not provisioned yet, or revoked
        registry.ensure(identity)
        log.warning(
            "provisioned the gateway identity %s just now: reload the broker (SIGHUP) so its "
            "ACL lets the gateway read", identity.username,
        )  # fmt: skip
        return registry.credentials(identity.username)


def device_auth(settings: Settings) -> AuthFor | None:
    """Each simulated device's own credentials (by topic) when the broker is secured."""
    if settings.mqtt.security != "tls":
        return None
    registry = open_device_registry(settings)
    return lambda topic: registry.credentials(identity_for_topic(topic).username)


def start_local_services(
    settings: Settings, stack: ExitStack, identities: Sequence[Identity] = ()
) -> Settings:
    """Spawn mosquitto and influxd where the settings name none; return resolved settings.

    Their data lives under the state folder, so a second run keeps the broker's
    sessions and the measurements. The spawned broker is TLS-only with per-identity
    credentials (the gateway's and ``identities``, provisioned if missing) unless
    ``TRACEHUB_MQTT_SECURITY=plain``.
    """
    state = settings.hub.state_dir
    mqtt, influx = settings.mqtt, settings.influx
    if mqtt.port is None:
        tls = None
        if mqtt.security != "plain":
            registry = open_device_registry(settings)
            for identity in (gateway_identity(settings), *identities):
                registry.ensure(identity)
            tls = BrokerTls(**registry.broker_files().model_dump())
        broker = stack.enter_context(Mosquitto(state / "mosquitto", tls=tls))
        mqtt = mqtt.model_copy(
            update={
                "host": broker.host,
                "port": broker.port,
                "security": "plain" if tls is None else "tls",
            }
        )
    if influx.url is None:
        server = stack.enter_context(InfluxDB(state / "influxdb"))
        influx = influx.model_copy(update={"url": server.url})
    return settings.model_copy(update={"mqtt": mqtt, "influx": influx})


@dataclass(frozen=True)
class Chain:
    """The chain batch roots are anchored on, and how to describe it to people."""

    w3: Web3
    anchorer: AnchorSender
    name: str
    embedded: bool


EMBEDDED_FUNDING_WEI = 10 * 10**18


def open_keystore(settings: Settings) -> KeyStore:
    """The site's signing keys and the anchoring account key, encrypted at rest."""
    secret = settings.ledger.key_passphrase
    return KeyStore.open(settings.ledger_keys_dir, secret.get_secret_value() if secret else None)


@contextmanager
def site_ledger(settings: Settings) -> Iterator[tuple[LedgerStore, Signer]]:
    """The ledger store and the site's current signer, for a command that submits
    records (they are anchored by the hub's next batch)."""
    signer = open_keystore(settings).signer(f"site:{settings.hub.site}", datetime.now(UTC))
    ledger = LedgerStore.open(settings.ledger_url)
    try:
        yield ledger, signer
    finally:
        ledger.close()


def fee_policy(settings: Settings) -> FeePolicy:
    return FeePolicy(
        max_fee_per_gas=int(settings.ledger.max_fee_gwei * GWEI),
        gas_limit_ceiling=settings.ledger.gas_limit_ceiling,
    )


def connect_chain(settings: Settings, keys: KeyStore | None = None) -> Chain:
    """The embedded EVM (a new anchor contract each run) or a JSON-RPC node.

    Anchors are always signed locally by the anchoring account: the key in
    ``TRACEHUB_CHAIN_PRIVATE_KEY`` if set (development), else the keystore's
    encrypted account key (generated on first run). On the embedded EVM that
    account is funded and allowed to anchor by the deployer. On a JSON-RPC node the
    deployed contract's address is remembered in the state folder, so a restarted
    hub keeps anchoring into the same contract.
    """
    cfg = settings.chain
    keys = keys or open_keystore(settings)
    key = cfg.private_key.get_secret_value() if cfg.private_key else keys.account_key()
    fees = fee_policy(settings)
    if cfg.rpc_url is None:
        w3 = embedded_web3()
        address = deploy_anchor_contract(w3)
        sender = AnchorSender(w3, address, key, fees)
        fund_account(w3, sender.sender, EMBEDDED_FUNDING_WEI)
        AnchorContract(w3, address).set_anchorer(sender.sender, True)
        return Chain(w3, sender, "embedded EVM", True)
    w3 = rpc_web3(cfg.rpc_url)
    address = cfg.contract or _remembered_contract(settings, w3, key)
    return Chain(w3, AnchorSender(w3, address, key, fees), "EVM (JSON-RPC)", False)


def _remembered_contract(settings: Settings, w3: Web3, key: str | None) -> str:
    path = settings.hub.state_dir / "anchor-contract.json"
    chain_id = int(w3.eth.chain_id)
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("chain_id") == chain_id and w3.eth.get_code(saved["address"]):
            return str(saved["address"])
    address = deploy_anchor_contract(w3, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"chain_id": chain_id, "address": address}) + "\n")
    log.info("deployed anchor contract %s on chain %s", address, chain_id)
    return address


class AnchorLoop:
    """Feeds captured events to the ledger and runs the anchoring worker, in a thread.

    Each round: submit new events, let the worker cut/advance batches by the policy
    (N leaves or T seconds; ``wake()`` cuts whatever is pending at once), then mirror
    confirmed batches onto the records. A chain or database outage only delays
    anchoring: nothing is lost, the next round continues. ``anchored`` is set after
    a round that mirrored or confirmed something, so callers can await it.
    """

    def __init__(
        self,
        feeder: EventFeeder,
        worker: AnchorWorker,
        poll_s: float = 1.0,
        on_anchored: Callable[[], None] | None = None,
    ) -> None:
        """``on_anchored`` runs after a round that mirrored or confirmed something."""
        self.feeder = feeder
        self.worker = worker
        self._on_anchored = on_anchored
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._flush = False
        self.anchored = threading.Event()
        self.last: BatchSummary | None = None
        self._thread = threading.Thread(target=self._run, name="anchor-loop", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def run_once(self, flush: bool = False) -> list[BatchSummary]:
        """One round; ``flush`` anchors everything pending now."""
        self.feeder.sync()
        result = self.worker.step(flush=flush)
        fed = self.feeder.sync()
        done = [
            BatchSummary(
                batch_id=b.id,
                root=b.root,
                size=b.size,
                chain_id=b.chain_id or 0,
                contract=b.contract or "",
                tx_hash=b.tx_hash or "",
                block_number=b.block_number or 0,
                recovered=b.recovered,
            )
            for b in result.confirmed
        ]
        if done:
            self.last = done[-1]
        if done or fed.mirrored:
            if self._on_anchored is not None:
                self._on_anchored()
            self.anchored.set()
        return done

    def wake(self) -> None:
        """Anchor what is pending now, whatever the policy says."""
        self._flush = True
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            flush, self._flush = self._flush, False
            try:
                for summary in self.run_once(flush):
                    log.info(
                        "anchored batch %s: %s leaves, root %s, block %s",
                        summary.batch_id,
                        summary.size,
                        summary.root.hex(),
                        summary.block_number,
                    )
                due = self.worker.seconds_until_due()
            except (LedgerError, TraceabilityError) as exc:
                log.warning("anchoring postponed: %s", exc)
                due = None
            wait = self._poll_s if due is None else min(self._poll_s, max(due, 0.01))
            self._wake.wait(wait)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)
        try:
            self.worker.release()
        except LedgerError as exc:
            log.warning("could not release the anchoring lease: %s", exc)


def rpc_route(w3: Web3) -> Route:
    """POST /rpc: the embedded chain, read-only, for `tracehub verify` in another shell."""

    async def endpoint(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
            )
        return JSONResponse(handle_jsonrpc(w3, body))

    return Route("/rpc", endpoint, methods=["POST"])


class WebServer:
    """uvicorn in a thread, on a socket bound before start so the URL answers at once."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or port == 0:
                raise
            # The default port is taken (another demo, another service): the URL we
            # print is what matters, so take any free port rather than fail.
            log.warning("port %s is in use; serving on a free port instead", port)
            self._sock.bind((host, 0))
        self._sock.listen(128)
        self.host, self.port = host, int(self._sock.getsockname()[1])
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name="web", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._sock.close()


class Hub:
    """Gateway, records, anchoring and web, wired from resolved settings."""

    def __init__(
        self,
        settings: Settings,
        read_points: Mapping[str, ReadPointProfile] | None = None,
    ) -> None:
        if settings.mqtt.port is None or settings.influx.url is None:
            raise ValueError("resolve the MQTT port and InfluxDB URL first (start_local_services)")
        self.settings = settings
        state = settings.hub.state_dir
        state.mkdir(parents=True, exist_ok=True)
        self.store = RecordStore.open(settings.records_url)
        self.keys = open_keystore(settings)
        self.chain = connect_chain(settings, self.keys)
        self.ledger = LedgerStore.open(settings.ledger_url)
        self.signer = self.keys.signer(f"site:{settings.hub.site}", datetime.now(UTC))
        # After `tracehub ledger rotate-key` the ledger refuses the held key: load the new one.
        renew = lambda: self.keys.signer(f"site:{settings.hub.site}", datetime.now(UTC))  # noqa: E731
        # Devices and partners with a clock ahead of real time are rejected (issue #4).
        tolerance = settings.records.future_tolerance_s
        self.capture = CaptureService(
            self.store,
            future_tolerance=None if tolerance is None else timedelta(seconds=tolerance),
        )
        # Captures and anchors change what a lot's page says: they drop its cached copy.
        self.pages = PageCache(settings.web.page_ttl_s)
        self.gateway: GatewayRuntime = build_gateway(
            GatewayConfig(
                **gateway_file_options(settings),
                mqtt_host=settings.mqtt.host,
                mqtt_port=settings.mqtt.port,
                mqtt_client_id=settings.mqtt.client_id,
                mqtt_share_group=settings.gateway.share_group,
                influx_url=settings.influx.url,
                influx_database=settings.influx.database,
                dead_letter_path=Path(state) / "gateway" / "dead-letter.sqlite3",
                spool_max_bytes=settings.gateway.spool_max_bytes,
                read_points=dict(read_points or {}),
                mqtt_auth=gateway_auth(settings),
            ),
            CaptureBridge(self.capture, on_lot=self.pages.invalidate),
            EvidenceBridge(RecordSubmitter(self.ledger, self.signer, renew=renew)),
        )
        self.anchoring = AnchorLoop(
            EventFeeder(
                self.store,
                self.ledger,
                self.signer,
                limit=settings.chain.max_batch,
                renew_signer=renew,
            ),
            AnchorWorker(
                self.ledger,
                self.chain.anchorer,
                f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
                BatchPolicy(
                    max_leaves=settings.chain.max_batch,
                    max_age_s=settings.chain.anchor_interval_s,
                    confirmations=settings.ledger.confirmations,
                    lease_ttl_s=settings.ledger.lease_ttl_s,
                ),
            ),
            on_anchored=self.pages.invalidate_all,
        )
        self.telemetry = InfluxTemperatureReader(settings.influx.url, settings.influx.database)
        routes: list[Route | Mount] = [rpc_route(self.chain.w3)] if self.chain.embedded else []
        self.exposure = ExposureService(self.store, self.telemetry)
        self.coldroom_power = InfluxColdRoomPower(settings.influx.url, settings.influx.database)
        routes.append(
            Mount(
                "/",
                create_app(
                    self.store,
                    self.telemetry,
                    self.chain.name,
                    capture=self.capture,
                    exposure=self.exposure,
                    near_expiry_days=settings.records.near_expiry_days,
                    series=self.telemetry,
                    # The lot's anchored carbon report first, else computed from the records.
                    footprint=LedgerFootprint(
                        self.ledger, RecordsFootprint(self.store, self.coldroom_power)
                    ),
                    evidence=LedgerEvidence(
                        self.store, self.ledger, self.signer, settings.ledger.confirmations
                    ),
                    evidence_public=settings.web.public_evidence,
                    auditor_tokens=settings.web.auditor_tokens.split(","),
                    cache=self.pages,
                ),
            )
        )
        self.web = WebServer(Starlette(routes=routes), settings.web.host, settings.web.port)

    @property
    def url(self) -> str:
        return self.settings.web.public_url or self.web.url

    @property
    def rpc_url(self) -> str | None:
        """Where other processes read the chain: /rpc for the embedded EVM."""
        return f"{self.web.url}/rpc" if self.chain.embedded else self.settings.chain.rpc_url

    def start(self) -> None:
        self.web.start()
        self.gateway.start()
        self.anchoring.start()

    def stop(self) -> None:
        # Reverse order of the data flow: stop taking messages first, then anchor
        # what was captured, then stop serving.
        self.gateway.stop()
        self.anchoring.stop()
        self.web.stop()
        self.telemetry.close()
        self.coldroom_power.close()
        self.ledger.close()
        self.store.close()

    def __enter__(self) -> Hub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def chain_lookup_for(
    store: RecordStore, w3: Web3, contract: str | None = None
) -> Callable[[bytes], OnChainAnchor | None]:
    """Look a root up in the anchor contract its batch names (or ``contract``)."""
    contracts: dict[str, AnchorContract] = {}

    def lookup(root: bytes) -> OnChainAnchor | None:
        batch = store.batch_by_root(root)
        address = contract or (batch.contract if batch else None)
        if address is None:
            return None
        if address not in contracts:
            contracts[address] = AnchorContract(w3, address)
        return contracts[address].lookup(root)

    return lookup


__all__ = [
    "AnchorLoop",
    "CaptureBridge",
    "Chain",
    "ChainError",
    "Hub",
    "WebServer",
    "chain_lookup_for",
    "connect_chain",
    "device_auth",
    "gateway_auth",
    "open_device_registry",
    "rpc_web3",
    "start_local_services",
]
