"""The site's gateway wiring: its config from the settings, its identity and credentials.

Reads the device registry and the optional gateway config file; nothing here runs
at import time, and the registry is opened only when a function is called.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig
from gateway.devices.access import Identity, identity_for_topic
from gateway.devices.records import DeviceRecord
from gateway.devices.registry import DeviceRegistry
from gateway.errors import IdentityError
from gateway.observation import ReadPointProfile
from sensors.credentials import AuthFor, MqttAuth
from sensors.simulator import SimulatorSpec
from tracehub.settings import Settings

log = logging.getLogger(__name__)


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
             "mqtt_auth", "mqtt_plain", "devices_dir", "expiry_warning_days"}  # fmt: skip
    return {k: v for k, v in options.items() if k not in fixed}


def gateway_config(
    settings: Settings, read_points: Mapping[str, ReadPointProfile] | None = None
) -> GatewayConfig:
    """The gateway's config from resolved settings (MQTT port and InfluxDB URL known)."""
    if settings.mqtt.port is None or settings.influx.url is None:
        raise ValueError("resolve the MQTT port and InfluxDB URL first (start_local_services)")
    auth = gateway_auth(settings)
    options = gateway_file_options(settings)
    client_id = settings.mqtt.client_id
    if auth is not None:
        # Over TLS the gateway is its identity: it connects with gateway/{name} as client id
        # (the name the broker forces anyway) and keeps {name} as its instance, the level
        # of the dead-letter topics its ACL lets it write.
        client_id = gateway_identity(settings).username
        options["gateway_id"] = settings.mqtt.client_id
    return GatewayConfig(
        **options,
        mqtt_host=settings.mqtt.host,
        mqtt_port=settings.mqtt.port,
        mqtt_client_id=client_id,
        mqtt_share_group=settings.gateway.share_group,
        influx_url=settings.influx.url,
        influx_database=settings.influx.database,
        dead_letter_path=Path(settings.hub.state_dir) / "gateway" / "dead-letter.sqlite3",
        spool_max_bytes=settings.gateway.spool_max_bytes,
        read_points=dict(read_points or {}),
        mqtt_auth=auth,
        mqtt_plain=auth is None,
        # The registry: its health also counts the certificates and CRL about to lapse.
        devices_dir=settings.devices_dir,
        expiry_warning_days=settings.devices.expiry_warning_days,
    )


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
        if not registry.reload_broker():  # a broker of this registry takes it at once
            log.warning(
                "provisioned the gateway identity %s just now: reload the broker (SIGHUP) so "
                "its ACL lets the gateway read", identity.username,
            )  # fmt: skip
        return registry.credentials(identity.username)


def device_auth(settings: Settings) -> AuthFor | None:
    """Each simulated device's own credentials (by topic) when the broker is secured."""
    if settings.mqtt.security != "tls":
        return None
    registry = open_device_registry(settings)
    return lambda topic: registry.credentials(identity_for_topic(topic).username)


def provision_devices(
    registry: DeviceRegistry, spec: SimulatorSpec, since: datetime | None = None
) -> list[DeviceRecord]:
    """A simulated site's probes and readers provisioned (if missing), each probe placed
    at its scenario location and each reader at its read point from ``since`` (default
    now) unless it already is there: the gateway stores readings at the location of the
    probe's identity and observes reads at the read point of the reader's."""
    records = [
        registry.ensure(
            Identity(kind="temperature", site=spec.site, device_id=probe.device_id),
            probe.location,
            since,
        )
        for probe in spec.probes
    ]
    records += [
        registry.ensure(
            Identity(kind="rfid", site=spec.site, device_id=reader.reader_id),
            reader.read_point,
            since,
        )
        for reader in spec.readers
    ]
    return records
