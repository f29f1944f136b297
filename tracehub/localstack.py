"""The local stack: spawn the services the settings leave unset, and say where they are.

``tracehub run`` and ``tracehub demo`` call it before building the hub; the
launchers themselves are in ``tracehub.services``. ``tracehub run`` also has it
spawn the chain (an anvil whose state persists under ``<state>/chain``) when no
``TRACEHUB_CHAIN_RPC_URL`` is set, and records where it listens
(``<state>/chain/rpc-url``) for ``tracehub verify`` on the same site; the demo keeps
the in-process EVM, which vanishes at exit. A spawned influxd is recorded the same way
(``<state>/influxdb/url``): verify re-reads sealed telemetry from it.

``tracehub run`` asks for ``stable_ports``: each service on its fixed port
(``tracehub.spawnsettings``: MQTT 8883/8884, or 1883 plain; InfluxDB 8086; anvil 8545),
so devices are pointed at it once; a port held by another program stops the start,
naming it and the variable to change. The demo and the tests take free ports.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.devices.access import Identity
from gateway.devices.renewal import check
from tracehub.services import (
    Anvil,
    BrokerTls,
    InfluxDB,
    Mosquitto,
    PortTakenError,
    ServiceError,
    free_port,
)
from tracehub.settings import Settings, is_loopback
from tracehub.site import gateway_identity, open_device_registry
from tracehub.spawnsettings import VARIABLES

CHAIN_DIR = "chain"
ANVIL_STATE = "anvil-state.json"
RPC_URL_FILE = "rpc-url"
INFLUX_DIR = "influxdb"
INFLUX_URL_FILE = "url"


@dataclass(frozen=True)
class LocalStack:
    """The resolved settings, and the services spawned for them (None: named, not spawned)."""

    settings: Settings
    broker: Mosquitto | None = None
    influx: InfluxDB | None = None
    chain: Anvil | None = None


def start_local_services(
    settings: Settings,
    stack: ExitStack,
    identities: Sequence[Identity] = (),
    *,
    spawn_chain: bool = False,
) -> Settings:
    """Spawn mosquitto and influxd where the settings name none; return resolved settings
    (free ports: the demo and the tests; ``start_local_stack`` says more)."""
    return start_local_stack(settings, stack, identities, spawn_chain=spawn_chain).settings


def start_local_stack(
    settings: Settings,
    stack: ExitStack,
    identities: Sequence[Identity] = (),
    *,
    spawn_chain: bool = False,
    stable_ports: bool = False,
) -> LocalStack:
    """Spawn mosquitto and influxd where the settings name none; return what was spawned.

    ``spawn_chain`` (``tracehub run``): with no chain RPC URL set, spawn anvil with its
    state in ``<state>/chain/anvil-state.json`` (written every second and at exit), so
    anchors outlive the hub; its development account funds the anchoring account.

    Their data lives under the state folder, so a second run keeps the broker's
    sessions and the measurements. The spawned broker is TLS-only with per-identity
    credentials (the gateway's and ``identities``, provisioned if missing) unless
    ``TRACEHUB_MQTT_SECURITY=plain``.

    ``stable_ports``: on ``settings.spawn``'s host and ports, not free ones; a port
    another program holds raises ``ServiceError`` naming it and its variable.
    """
    try:
        return _start(settings, stack, identities, spawn_chain, stable_ports)
    except PortTakenError as exc:
        if not stable_ports:
            raise
        raise ServiceError(f"{exc}: {_remedy(settings, exc.port)}") from exc


def _start(
    settings: Settings,
    stack: ExitStack,
    identities: Sequence[Identity],
    spawn_chain: bool,
    stable_ports: bool,
) -> LocalStack:
    state = settings.hub.state_dir
    mqtt, influx = settings.mqtt, settings.influx
    broker: Mosquitto | None = None
    server: InfluxDB | None = None
    node: Anvil | None = None
    if mqtt.port is None:
        tls = None
        if mqtt.security != "plain":
            registry = open_device_registry(settings)
            for identity in (gateway_identity(settings), *identities):
                registry.ensure(identity)
            check(registry, _warning_window(settings), broker=True)
            tls = BrokerTls(**registry.broker_files().model_dump())
        broker = stack.enter_context(
            Mosquitto(state / "mosquitto", tls=tls, **_broker_ports(settings, stable_ports, tls))
        )
        mqtt = mqtt.model_copy(
            update={
                "host": broker.connect_host,
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
        where = _at(settings, settings.spawn.influx_port) if stable_ports else {}
        server = stack.enter_context(InfluxDB(state / INFLUX_DIR, **where))
        influx_url_file(settings).write_text(server.url + "\n")
        stack.callback(influx_url_file(settings).unlink, missing_ok=True)
        influx = influx.model_copy(update={"url": server.url})
    chain = settings.chain
    if spawn_chain and chain.rpc_url is None:
        where = _at(settings, settings.spawn.chain_port) if stable_ports else {}
        node = stack.enter_context(Anvil(state / CHAIN_DIR, state_file=ANVIL_STATE, **where))
        rpc_url_file(settings).write_text(node.url + "\n")
        stack.callback(rpc_url_file(settings).unlink, missing_ok=True)
        chain = chain.model_copy(update={"rpc_url": node.url, "dev_node": True})
    resolved = settings.model_copy(update={"mqtt": mqtt, "influx": influx, "chain": chain})
    return LocalStack(resolved, broker, server, node)


def _at(settings: Settings, port: int) -> dict[str, Any]:
    """Host and port for a spawned service; port 0: a free one at each start."""
    return {"host": settings.spawn.host, "port": port or free_port()}


def _broker_ports(settings: Settings, stable: bool, tls: BrokerTls | None) -> dict[str, Any]:
    if not stable:
        return {}
    spawn = settings.spawn
    if tls is None and not is_loopback(spawn.host) and not settings.mqtt.allow_remote_plain:
        raise ServiceError(
            f"a plain broker (--insecure-plain) on {spawn.host} (TRACEHUB_SPAWN_HOST): anyone on "
            "that network could publish as any device. Keep TLS, listen on 127.0.0.1, or set "
            "TRACEHUB_MQTT_ALLOW_REMOTE_PLAIN=true if the network itself is trusted"
        )
    where = _at(settings, spawn.broker_port(tls is not None))
    return {**where, "password_port": spawn.mqtt_password_port or free_port()}


def _remedy(settings: Settings, port: int) -> str:
    """What to change when ``port`` is taken: the variable that chose it."""
    spawn = settings.spawn
    chosen = {
        spawn.broker_port(settings.mqtt.security != "plain"): "mqtt_port",
        spawn.mqtt_password_port: "mqtt_password_port",
        spawn.influx_port: "influx_port",
        spawn.chain_port: "chain_port",
    }
    variable = VARIABLES.get(chosen.get(port, ""), "the TRACEHUB_SPAWN_*_PORT variables")
    alternative = {
        "mqtt_port": "TRACEHUB_MQTT_HOST/TRACEHUB_MQTT_PORT",
        "influx_port": "TRACEHUB_INFLUX_URL",
        "chain_port": "TRACEHUB_CHAIN_RPC_URL",
    }.get(chosen.get(port, ""))
    use = f", or point {alternative} at the service already running there" if alternative else ""
    return f"stop that program, or set {variable} to a free port (0: any free port){use}"


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
