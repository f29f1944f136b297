"""``TRACEHUB_SPAWN_*``: where ``tracehub run`` spawns the services the settings leave unset.

Fixed ports, so devices, dashboards and scripts can be pointed at them once and a
restart comes back on the same ones; a port another program holds stops the start
with the port and the setting to change (``tracehub.processes.PortTakenError``).
``tracehub demo`` and the test fixtures take free ports instead (many run side by side).
Kept apart from ``tracehub.settings`` (at its size limit), which imports it.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The ports each service is known by (IANA: 8883 MQTT over TLS, 1883 MQTT); the
# password listener beside 8883 follows eclipse-mosquitto's examples.
MQTT_TLS_PORT = 8883
MQTT_PLAIN_PORT = 1883


class SpawnSettings(BaseSettings):
    """``TRACEHUB_SPAWN_*``: host and ports of the services ``tracehub run`` spawns."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_SPAWN_", frozen=True)

    host: str = Field(
        default="127.0.0.1",
        description="the address the spawned services listen on; 0.0.0.0 for every "
        "interface (devices on the network: add the name they use with `tracehub devices "
        "init --broker-name`); a plain broker off loopback needs TRACEHUB_MQTT_ALLOW_REMOTE_PLAIN",
    )
    mqtt_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="the broker's port; unset: 8883 (TLS, client certificates), 1883 with "
        "--insecure-plain; 0 everywhere here: a free port at each start",
    )
    mqtt_password_port: int = Field(
        default=8884, ge=0, le=65535, description="the broker's TLS username/password listener"
    )
    influx_port: int = Field(default=8086, ge=0, le=65535, description="InfluxDB's HTTP API")
    chain_port: int = Field(default=8545, ge=0, le=65535, description="anvil's JSON-RPC")

    def broker_port(self, tls: bool) -> int:
        if self.mqtt_port is not None:
            return self.mqtt_port
        return MQTT_TLS_PORT if tls else MQTT_PLAIN_PORT


# The variable an operator changes when a port is taken, by the field that gave it.
VARIABLES = {
    "mqtt_port": "TRACEHUB_SPAWN_MQTT_PORT",
    "mqtt_password_port": "TRACEHUB_SPAWN_MQTT_PASSWORD_PORT",
    "influx_port": "TRACEHUB_SPAWN_INFLUX_PORT",
    "chain_port": "TRACEHUB_SPAWN_CHAIN_PORT",
}
