"""The local stack: spawn the services the settings leave unset, and say where they are.

``tracehub run`` and ``tracehub demo`` call it before building the hub; the
launchers themselves are in ``tracehub.services``. ``tracehub run`` also has it
spawn the chain (an anvil whose state persists under ``<state>/chain``) when no
``TRACEHUB_CHAIN_RPC_URL`` is set, and records where it listens
(``<state>/chain/rpc-url``) for ``tracehub verify`` on the same site; the demo keeps
the in-process EVM, which vanishes at exit. A spawned influxd is recorded the same way
(``<state>/influxdb/url``): verify re-reads sealed telemetry from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from gateway.devices.access import Identity
from gateway.devices.renewal import check
from tracehub.services import Anvil, BrokerTls, InfluxDB, Mosquitto
from tracehub.settings import Settings
from tracehub.site import gateway_identity, open_device_registry

CHAIN_DIR = "chain"
ANVIL_STATE = "anvil-state.json"
RPC_URL_FILE = "rpc-url"
INFLUX_DIR = "influxdb"
INFLUX_URL_FILE = "url"


def start_local_services(
    settings: Settings,
    stack: ExitStack,
    identities: Sequence[Identity] = (),
    *,
    spawn_chain: bool = False,
) -> Settings:
    """Spawn mosquitto and influxd where the settings name none; return resolved settings.

    ``spawn_chain`` (``tracehub run``): with no chain RPC URL set, spawn anvil with its
    state in ``<state>/chain/anvil-state.json`` (written every second and at exit), so
    anchors outlive the hub; its development account funds the anchoring account.

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
            check(registry, _warning_window(settings), broker=True)
            tls = BrokerTls(**registry.broker_files().model_dump())
        broker = stack.enter_context(Mosquitto(state / "mosquitto", tls=tls))
        mqtt = mqtt.model_copy(
            update={
                "host": broker.host,
                "port": broker.port,
                "security": "plain" if tls is None else "tls",
            }
        )
    elif mqtt.security == "tls":
        # A named broker: its copy of the files is its operator's, so renew only the
        # registry's CRL (then `tracehub devices init`/export it) and warn about the rest.
        registry = open_device_registry(settings)
        check(registry, _warning_window(settings))
        registry.reload_broker()
    if influx.url is None:
        server = stack.enter_context(InfluxDB(state / INFLUX_DIR))
        influx_url_file(settings).write_text(server.url + "\n")
        stack.callback(influx_url_file(settings).unlink, missing_ok=True)
        influx = influx.model_copy(update={"url": server.url})
    chain = settings.chain
    if spawn_chain and chain.rpc_url is None:
        node = stack.enter_context(Anvil(state / CHAIN_DIR, state_file=ANVIL_STATE))
        rpc_url_file(settings).write_text(node.url + "\n")
        stack.callback(rpc_url_file(settings).unlink, missing_ok=True)
        chain = chain.model_copy(update={"rpc_url": node.url, "dev_node": True})
    return settings.model_copy(update={"mqtt": mqtt, "influx": influx, "chain": chain})


def _warning_window(settings: Settings) -> timedelta:
    return timedelta(days=settings.devices.expiry_warning_days)


def rpc_url_file(settings: Settings) -> Path:
    return settings.hub.state_dir / CHAIN_DIR / RPC_URL_FILE


def local_rpc_url(settings: Settings) -> str | None:
    """The JSON-RPC URL of the chain a running ``tracehub run`` spawned on this site."""
    try:
        return rpc_url_file(settings).read_text().strip() or None
    except OSError:
        return None


def influx_url_file(settings: Settings) -> Path:
    return settings.hub.state_dir / INFLUX_DIR / INFLUX_URL_FILE


def local_influx_url(settings: Settings) -> str | None:
    """The URL of the influxd a running hub spawned on this site."""
    try:
        return influx_url_file(settings).read_text().strip() or None
    except OSError:
        return None
