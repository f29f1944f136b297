"""Wire the gateway's adapters from a GatewayConfig (the composition root calls this)."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gateway.capture import CapturePort
from gateway.completeness import EvidencePort, EvidenceSealer, JsonlEvidence
from gateway.deadletter import DeadLetterStore
from gateway.decode import Rejection
from gateway.drain import Drainer
from gateway.errors import SinkUnavailable
from gateway.health import HealthReporter
from gateway.influx import InfluxWriter
from gateway.mqtt import MqttSource
from gateway.observation import (
    DEFAULT_AGV_PROFILE,
    DEFAULT_PROFILE,
    AgvProfile,
    ReadPointProfile,
)
from gateway.opcua import OpcUaEndpoint, OpcUaSource
from gateway.pipeline import Gateway, GatewayCounters
from gateway.spool import Spool, SpoolEntry, Synchronous
from sensors.credentials import MqttAuth

log = logging.getLogger(__name__)


class GatewayConfig(BaseModel):
    """Everything the gateway needs; tracehub/settings.py fills it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    gateway_id: str | None = Field(
        default=None, description="instance id in health points; unset: the MQTT client id"
    )
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_client_id: str = Field(default="tracehub-gateway", min_length=1)
    mqtt_keepalive_s: int = Field(default=30, ge=5)
    mqtt_session_expiry_s: int = Field(default=86_400, ge=0)
    mqtt_receive_maximum: int = Field(default=1000, ge=1, le=65535)
    mqtt_share_group: str | None = Field(
        default=None, description="replicas with the same group split the load ($share/...)"
    )
    mqtt_auth: MqttAuth | None = Field(
        default=None,
        description="TLS + the gateway's identity (tracehub devices); unset: plain, anonymous",
    )
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = Field(default="tracehub", min_length=1)
    influx_timeout_s: float = Field(default=5.0, gt=0)
    dead_letter_path: Path = Path(".state/gateway/dead-letter.sqlite3")
    dead_letter_topic: str = Field(
        default="tracehub/deadletter", description="dead letters are published under it"
    )
    spool_path: Path | None = Field(default=None, description="unset: next to the dead letters")
    spool_max_bytes: int = Field(default=1 << 30, gt=0)
    spool_synchronous: Synchronous = "FULL"
    batch_size: int = Field(default=5_000, ge=1)
    linger_s: float = Field(default=0.005, ge=0)
    read_points: dict[str, ReadPointProfile] = Field(default_factory=dict)
    default_profile: ReadPointProfile = DEFAULT_PROFILE
    agv_profiles: dict[str, AgvProfile] = Field(default_factory=dict)
    default_agv_profile: AgvProfile = DEFAULT_AGV_PROFILE
    dedup_window_s: float = Field(default=2.0, ge=0)
    known_devices: frozenset[str] | None = None
    evidence_window_s: int = Field(default=3_600, ge=1)
    evidence_grace_s: float = Field(default=300.0, ge=0)
    evidence_quiet_s: float = Field(default=60.0, ge=0)
    evidence_check_s: float = Field(default=5.0, gt=0)
    evidence_path: Path | None = Field(
        default=None, description="JSON-lines evidence when no EvidencePort is wired"
    )
    health_interval_s: float = Field(default=10.0, gt=0)
    opcua: tuple[OpcUaEndpoint, ...] = ()
    retry_max_s: float = Field(default=2.0, gt=0)

    @property
    def instance(self) -> str:
        return self.gateway_id or self.mqtt_client_id

    @property
    def resolved_spool_path(self) -> Path:
        return self.spool_path or self.dead_letter_path.parent / "spool.sqlite3"


class GatewayRuntime:
    """A running gateway: start() connects and subscribes, stop() releases everything."""

    def __init__(
        self, config: GatewayConfig, capture: CapturePort, evidence: EvidencePort | None = None
    ) -> None:
        self.config = config
        self.influx = InfluxWriter(
            config.influx_url, config.influx_database, timeout=config.influx_timeout_s
        )
        self.dead_letters = DeadLetterStore(config.dead_letter_path)
        self.spool = Spool(
            config.resolved_spool_path,
            config.spool_max_bytes,
            synchronous=config.spool_synchronous,
        )
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
            on_dead_letter=self._publish_dead_letter,
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
        )
        self.drainer = Drainer(
            self.spool,
            self.gateway,
            batch_size=config.batch_size,
            linger_s=config.linger_s,
            retry_max_s=config.retry_max_s,
        )
        self.evidence = evidence or JsonlEvidence(
            config.evidence_path or config.dead_letter_path.parent / "evidence.jsonl"
        )
        self.sealer = EvidenceSealer(
            self.influx,
            self.evidence,
            self.spool,
            window_s=config.evidence_window_s,
            grace_s=config.evidence_grace_s,
            quiet_s=config.evidence_quiet_s,
            check_s=config.evidence_check_s,
            gateway_id=config.instance,
        )
        self.health = HealthReporter(
            config.instance,
            self.gateway,
            self.spool,
            self.influx,
            self.dead_letters.counts,
            interval_s=config.health_interval_s,
        )
        self.opcua = [OpcUaSource(endpoint, self.spool.append) for endpoint in config.opcua]

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
        self.source.publish(topic, json.dumps(body).encode())

    @property
    def counters(self) -> GatewayCounters:
        return self.gateway.counters

    def start(self) -> None:
        try:
            self.influx.ensure_database()
        except SinkUnavailable as exc:
            # Not fatal: writes retry, and create the database once InfluxDB answers.
            log.warning("InfluxDB not ready at start: %s", exc)
        self.drainer.start()
        self.sealer.start()
        self.health.start()
        self.source.start()
        for source in self.opcua:
            source.start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self.source.wait_ready(timeout)

    def stop(self) -> None:
        for source in self.opcua:
            source.stop()
        self.source.stop()
        self.drainer.stop()
        self.health.stop()
        self.sealer.stop()
        self.influx.close()
        self.dead_letters.close()
        self.spool.close()

    def __enter__(self) -> GatewayRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_gateway(
    config: GatewayConfig, capture: CapturePort, evidence: EvidencePort | None = None
) -> GatewayRuntime:
    """Build (not start) the gateway; nothing connects until ``start()``.

    ``evidence``: where telemetry completeness digests go (the ledger, wired by the
    composition root); unset, they are appended to a JSON-lines file.
    """
    return GatewayRuntime(config, capture, evidence)
