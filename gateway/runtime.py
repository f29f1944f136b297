"""The gateway's runtime: its adapters built from a GatewayConfig, started and stopped.

Building (``build_gateway``, called by the composition root) only keeps the config and
the ports: nothing opens, connects or creates a file. ``start()`` opens the spool and
the dead-letter store, builds the pipeline on the spool's saved state, then starts the
drain, sealing and health threads and the sources (the MQTT spooler supervised too);
``stop()`` releases it all, sources first, so nothing new arrives while the rest shuts
down.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from functools import partial

from gateway.capture import CapturePort
from gateway.completeness import EvidencePort, EvidenceSealer, JsonlEvidence
from gateway.config import GatewayConfig
from gateway.deadletter import DeadLetterStore
from gateway.decode import Rejection
from gateway.devices.directory import DeviceDirectory, RegistryDirectory, StaticDirectory
from gateway.devices.renewal import watch
from gateway.drain import Drainer
from gateway.errors import GatewayError, SinkUnavailable
from gateway.health import HealthReporter
from gateway.influx import InfluxWriter
from gateway.mqtt import MqttSource
from gateway.opcua import OpcUaSource
from gateway.pipeline import Gateway, GatewayCounters
from gateway.spool import Spool, SpoolEntry
from supervision.status import ComponentState, ComponentStatus
from supervision.supervisor import Supervisor

log = logging.getLogger(__name__)


class _Adapters:
    """The opened adapters of one run, wired together (what ``start()`` builds)."""

    def __init__(
        self,
        config: GatewayConfig,
        capture: CapturePort,
        evidence: EvidencePort | None,
        on_dead_letter: Callable[[SpoolEntry, Rejection], None],
        directory: DeviceDirectory,
        supervisor: Supervisor | None = None,
    ) -> None:
        with ExitStack() as opened:
            # Closed again if a later adapter cannot be built (bad credentials, bad path).
            self.influx = InfluxWriter(
                config.influx_url,
                config.influx_database,
                timeout=config.influx_timeout_s,
                retention=config.influx_retention,
            )
            opened.callback(self.influx.close)
            self.dead_letters = DeadLetterStore(config.dead_letter_path)
            opened.callback(self.dead_letters.close)
            self.spool = Spool(
                config.resolved_spool_path,
                config.spool_max_bytes,
                synchronous=config.spool_synchronous,
            )
            opened.callback(self.spool.close)
            self.gateway = Gateway(
                self.influx,
                capture,
                self.dead_letters,
                self.spool,
                config.read_points,
                config.default_profile,
                agv_profiles=config.agv_profiles,
                default_agv_profile=config.default_agv_profile,
                dedup_window_s=config.dedup_window_s,
                evidence_window_s=config.evidence_window_s,
                known_devices=config.known_devices,
                on_dead_letter=on_dead_letter,
                directory=directory,
                clock=config.clock,
                stored=self.influx,  # whether a logger file may speak for a device
            )
            self.source = MqttSource(
                config.mqtt_host,
                config.mqtt_port,
                config.mqtt_client_id,
                self.spool.append,
                keepalive_s=config.mqtt_keepalive_s,
                session_expiry_s=config.mqtt_session_expiry_s,
                receive_maximum=config.mqtt_receive_maximum,
                retry_max_s=config.retry_max_s,
                share_group=config.mqtt_share_group,
                auth=config.mqtt_auth,
                supervisor=supervisor,
            )
            self.drainer = Drainer(
                self.spool,
                self.gateway,
                batch_size=config.batch_size,
                linger_s=config.linger_s,
                retry_max_s=config.retry_max_s,
                supervisor=supervisor,
            )
            self.evidence = evidence or JsonlEvidence(config.resolved_evidence_path)
            # Seals from the readings the pipeline filed in the spool, never from InfluxDB.
            self.sealer = EvidenceSealer(
                self.evidence,
                self.spool,
                window_s=config.evidence_window_s,
                grace_s=config.evidence_grace_s,
                quiet_s=config.evidence_quiet_s,
                check_s=config.evidence_check_s,
                gateway_id=config.instance,
                supervisor=supervisor,
            )
            self.health = HealthReporter(
                config.instance,
                self.gateway,
                self.spool,
                self.influx,
                self.dead_letters.counts,
                interval_s=config.health_interval_s,
                certs_expiring=_expiry_watch(config),
                supervisor=supervisor,
            )
            self.opcua = [OpcUaSource(endpoint, self.spool.append) for endpoint in config.opcua]
            opened.pop_all()


def _expiry_watch(config: GatewayConfig) -> Callable[[], int] | None:
    if config.devices_dir is None:
        return None
    within = timedelta(days=config.expiry_warning_days)
    return watch(config.devices_dir, within)


class GatewayRuntime:
    """A gateway: start() opens, connects and subscribes, stop() releases everything.

    The adapters (``gateway``, ``spool``, ``dead_letters``, ...) exist from ``start()`` on
    and stay readable after ``stop()`` (the counters of a finished run).
    """

    def __init__(
        self,
        config: GatewayConfig,
        capture: CapturePort,
        evidence: EvidencePort | None = None,
        directory: DeviceDirectory | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        """``supervisor`` runs the MQTT spooler, drain, sealing and health loops and
        watches the sources' connections (the hub's, so its ``/readyz`` shows them;
        unset, one of its own)."""
        self.supervisor = supervisor or Supervisor()
        self.config = config
        self._capture = capture
        self._evidence = evidence
        self._directory = directory
        self._adapters: _Adapters | None = None

    @property
    def _running(self) -> _Adapters:
        if self._adapters is None:
            raise GatewayError("the gateway is not started: call start() first")
        return self._adapters

    @property
    def gateway(self) -> Gateway:
        return self._running.gateway

    @property
    def spool(self) -> Spool:
        return self._running.spool

    @property
    def dead_letters(self) -> DeadLetterStore:
        return self._running.dead_letters

    @property
    def drainer(self) -> Drainer:
        return self._running.drainer

    @property
    def health(self) -> HealthReporter:
        return self._running.health

    @property
    def mqtt(self) -> MqttSource:
        return self._running.source

    @property
    def opcua(self) -> list[OpcUaSource]:
        return self._running.opcua

    @property
    def counters(self) -> GatewayCounters:
        return self.gateway.counters

    def _publish_dead_letter(self, entry: SpoolEntry, rejection: Rejection) -> None:
        body = {
            "topic": entry.topic,
            "code": rejection.code,
            "reason": rejection.reason,
            "field": rejection.field,
            "received_ns": entry.received_ns,
            "payload_b64": base64.b64encode(entry.payload).decode(),
        }
        topic = f"{self.config.dead_letter_topic}/{self.config.instance}/{rejection.code}"
        self._running.source.publish(topic, json.dumps(body).encode())

    def start(self) -> None:
        run = self._adapters = _Adapters(
            self.config, self._capture, self._evidence, self._publish_dead_letter,
            self._device_directory(), supervisor=self.supervisor,
        )  # fmt: skip
        try:
            run.influx.ensure_database()
        except SinkUnavailable as exc:
            # Not fatal: writes retry, and create the database once InfluxDB answers.
            log.warning("InfluxDB not ready at start: %s", exc)
        run.drainer.start()
        run.sealer.start()
        run.health.start()
        run.source.start()
        for source in run.opcua:
            source.start()
        # paho's network loop and asyncua reconnect on their own: watched, not restarted.
        self.supervisor.watch("gateway.mqtt", lambda: _connection(run.source.wait_ready(0)))
        for source in run.opcua:
            self.supervisor.watch(
                f"gateway.opcua.{source.endpoint.plc}",
                partial(lambda s: _connection(s.connected.is_set()), source),
            )

    def _device_directory(self) -> DeviceDirectory:
        if self._directory is not None:
            return self._directory
        if self.config.devices_dir is not None:
            return RegistryDirectory(self.config.devices_dir)
        log.warning(
            "no device directory (devices_dir unset): every temperature reading will be "
            "dead-lettered as unassigned; point devices_dir at the device registry"
        )
        return StaticDirectory()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self._running.source.wait_ready(timeout)

    def stop(self) -> None:
        run = self._adapters
        if run is None:  # never started: nothing was opened
            return
        for source in run.opcua:
            source.stop()
            self.supervisor.unwatch(f"gateway.opcua.{source.endpoint.plc}")
        run.source.stop()
        self.supervisor.unwatch("gateway.mqtt")
        run.drainer.stop()
        run.health.stop()
        run.sealer.stop()
        run.influx.close()
        run.dead_letters.close()
        run.spool.close()

    def __enter__(self) -> GatewayRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_gateway(
    config: GatewayConfig,
    capture: CapturePort,
    evidence: EvidencePort | None = None,
    directory: DeviceDirectory | None = None,
    supervisor: Supervisor | None = None,
) -> GatewayRuntime:
    """Build (not start) the gateway; nothing opens or connects until ``start()``.

    ``evidence``: where sealed telemetry windows go (the ledger, wired by the
    composition root); unset, they are appended to a JSON-lines file.
    ``directory``: where each probe is placed and when each device was provisioned
    (the device registry); unset, the registry in ``config.devices_dir``.
    """
    return GatewayRuntime(config, capture, evidence, directory, supervisor)


def _connection(up: bool) -> ComponentStatus:
    """A source's connection as a watched component (its own library reconnects it)."""
    return ComponentStatus(
        name="source",
        state=ComponentState.RUNNING,
        healthy=up,
        detail="connected" if up else "not connected: its client keeps reconnecting",
    )
