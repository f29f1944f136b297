"""Everything one gateway needs to run, as one frozen, validated value.

The composition root (tracehub/settings.py, tracehub/bootstrap.py) fills it; ``python -m
gateway`` reads it from a JSON file. Paths left unset default to files next to the dead
letters, so one state folder holds a gateway's whole disk footprint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.admission import ClockRules
from gateway.observation import (
    DEFAULT_AGV_PROFILE,
    DEFAULT_PROFILE,
    AgvProfile,
    ReadPointProfile,
)
from gateway.opcua import OpcUaEndpoint
from gateway.spool import Synchronous
from influx.retentionplan import RetentionPlan
from sensors.credentials import MqttAuth


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
        description="TLS + the gateway's identity (tracehub devices); required unless mqtt_plain",
    )
    mqtt_plain: bool = Field(
        default=False,
        description="connect without TLS or credentials: an explicit opt-out (loopback test "
        "brokers), warned at every start",
    )
    expiry_warning_days: int = Field(
        default=30, ge=1, description="health counts devices_dir's certificates expiring within"
    )
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = Field(default="tracehub", min_length=1)
    influx_timeout_s: float = Field(default=5.0, gt=0)
    influx_retention: RetentionPlan | None = Field(
        default=None,
        description="policies and continuous queries applied whenever the database is "
        "created (docs/retention.md); unset: InfluxDB's own (autogen keeps everything)",
    )
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
    dedup_window_s: float = Field(default=2.0, ge=0, description="RFID, by receive time")
    clock: ClockRules = Field(
        default_factory=ClockRules,
        description="device clock checks: floor, future tolerance, backfill window",
    )
    devices_dir: Path | None = Field(
        default=None,
        description="the device registry folder (tracehub devices): where each probe is "
        "placed; unset and no directory wired, every temperature reading is unassigned",
    )
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

    @model_validator(mode="after")
    def _fail_closed(self) -> Self:
        # A forgotten mqtt_auth must not quietly mean "plain and anonymous".
        if self.mqtt_auth is None and not self.mqtt_plain:
            raise ValueError(
                "mqtt_auth is not set: give the gateway its TLS identity (tracehub devices "
                "provision gateway NAME) or set mqtt_plain: true for a plain loopback broker"
            )
        if self.mqtt_auth is not None and self.mqtt_plain:
            raise ValueError("mqtt_plain and mqtt_auth exclude each other: choose one")
        return self

    @property
    def instance(self) -> str:
        return self.gateway_id or self.mqtt_client_id

    @property
    def resolved_spool_path(self) -> Path:
        return self.spool_path or self.dead_letter_path.parent / "spool.sqlite3"

    @property
    def resolved_evidence_path(self) -> Path:
        return self.evidence_path or self.dead_letter_path.parent / "evidence.jsonl"
