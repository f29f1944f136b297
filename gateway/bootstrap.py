"""Wire the gateway's adapters from a GatewayConfig (the composition root calls this)."""

from __future__ import annotations

import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gateway.capture import CapturePort
from gateway.deadletter import DeadLetterStore
from gateway.errors import SinkUnavailable
from gateway.influx import InfluxWriter
from gateway.mqtt import MqttSource
from gateway.observation import DEFAULT_PROFILE, ReadPointProfile
from gateway.worker import Gateway, GatewayCounters

log = logging.getLogger(__name__)


class GatewayConfig(BaseModel):
    """Everything the gateway needs; tracehub/settings.py fills it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_client_id: str = Field(default="tracehub-gateway", min_length=1)
    mqtt_keepalive_s: int = Field(default=30, ge=5)
    mqtt_session_expiry_s: int = Field(default=86_400, ge=0)
    mqtt_receive_maximum: int = Field(default=100, ge=1, le=65535)
    influx_url: str = "http://127.0.0.1:8086"
    influx_database: str = Field(default="tracehub", min_length=1)
    influx_timeout_s: float = Field(default=5.0, gt=0)
    dead_letter_path: Path = Path(".state/gateway/dead-letter.sqlite3")
    read_points: dict[str, ReadPointProfile] = Field(default_factory=dict)
    default_profile: ReadPointProfile = DEFAULT_PROFILE
    retry_max_s: float = Field(default=2.0, gt=0)


class GatewayRuntime:
    """A running gateway: start() connects and subscribes, stop() releases everything."""

    def __init__(self, config: GatewayConfig, capture: CapturePort) -> None:
        self.config = config
        self.influx = InfluxWriter(
            config.influx_url, config.influx_database, timeout=config.influx_timeout_s
        )
        self.dead_letters = DeadLetterStore(config.dead_letter_path)
        self.gateway = Gateway(
            self.influx,
            capture,
            self.dead_letters,
            config.read_points,
            config.default_profile,
        )
        self.source = MqttSource(
            config.mqtt_host,
            config.mqtt_port,
            config.mqtt_client_id,
            self.gateway.handle,
            keepalive_s=config.mqtt_keepalive_s,
            session_expiry_s=config.mqtt_session_expiry_s,
            receive_maximum=config.mqtt_receive_maximum,
            retry_max_s=config.retry_max_s,
        )

    @property
    def counters(self) -> GatewayCounters:
        return self.gateway.counters

    def start(self) -> None:
        try:
            self.influx.ensure_database()
        except SinkUnavailable as exc:
            # Not fatal: writes retry, and create the database once InfluxDB answers.
            log.warning("InfluxDB not ready at start: %s", exc)
        self.source.start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return self.source.wait_ready(timeout)

    def stop(self) -> None:
        self.source.stop()
        self.influx.close()
        self.dead_letters.close()

    def __enter__(self) -> GatewayRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def build_gateway(config: GatewayConfig, capture: CapturePort) -> GatewayRuntime:
    """Build (not start) the gateway; nothing connects until ``start()``."""
    return GatewayRuntime(config, capture)
