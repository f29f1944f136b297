"""The local stack: spawn the services the settings leave unset, and say where they are.

``tracehub run`` and ``tracehub demo`` call it before building the hub; the
launchers themselves are in ``tracehub.services``.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

from gateway.devices.access import Identity
from tracehub.services import BrokerTls, InfluxDB, Mosquitto
from tracehub.settings import Settings
from tracehub.site import gateway_identity, open_device_registry


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
