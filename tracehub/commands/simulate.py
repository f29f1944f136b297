"""``tracehub simulate``: simulated devices for a site (MQTT probes and readers, VDA 5050
AGVs, OPC UA cold-room PLCs), from a scenario file or the demo site."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import click

from tracehub.console import console, stop_on_signals
from tracehub.settings import Settings


@click.command()
@click.option(
    "--scenario",
    "scenario_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Site scenario file (YAML or JSON): rooms, docks, trucks, AGVs, rates. "
    "Default: the demo site.",
)
@click.option("--interval", type=float, help="Seconds between readings (overrides the file).")
@click.option("--units", default=3, show_default=True, help="Demo units the dock reader sees.")
@click.option("--count", type=int, help="Stop after this many ticks (default: until Ctrl-C).")
@click.pass_obj
def simulate(
    settings: Settings,
    scenario_path: Path | None,
    interval: float | None,
    units: int,
    count: int | None,
) -> None:
    """Publish a site's simulated devices to the broker and serve its PLCs over OPC UA.

    The broker is TRACEHUB_MQTT_HOST / TRACEHUB_MQTT_PORT (default port 1883). With
    TRACEHUB_MQTT_SECURITY=tls each device connects over TLS with its own identity from
    the device registry (`tracehub devices`, docs/security.md).
    """
    from sensors.agv_sim import run_agvs
    from sensors.coldroom_server import ColdRoomServer
    from sensors.errors import ScenarioError
    from sensors.scenario import load_scenario
    from sensors.simulator import run_simulators
    from tracehub.demo import scenario_devices as demo_scenario
    from tracehub.site import device_auth

    port = settings.mqtt.port or 1883
    host = settings.mqtt.host
    stop = stop_on_signals()
    auth_for = device_auth(settings)  # None unless TRACEHUB_MQTT_SECURITY=tls
    if scenario_path is None:
        spec = demo_scenario(settings.hub.site, units)
        stats = run_simulators(host, port, spec, stop, 1.0 if interval is None else interval,
                               count=count, auth_for=auth_for)  # fmt: skip
        console.print(f"published {stats.temperature} readings and {stats.rfid} tag reads")
        return
    try:
        site = load_scenario(scenario_path)
    except ScenarioError as exc:
        raise click.BadParameter(str(exc), param_hint="--scenario") from exc
    tick = site.rates.interval_s if interval is None else interval
    servers = [
        ColdRoomServer(room.plc_port, (room.id,), host="0.0.0.0",
                       interval_s=site.rates.plc_interval_s, setpoint_c=room.setpoint_c,
                       seed=site.seed)
        for room in site.rooms
        if room.plc_port is not None
    ]  # fmt: skip
    for server in servers:
        server.start()
        console.print(f"OPC UA cold-room PLC at {server.url} nodes {server.node_ids}")
    start = datetime.now(UTC).replace(microsecond=0)
    agv_sent = [0]
    agv_thread = threading.Thread(
        target=lambda: agv_sent.__setitem__(
            0,
            run_agvs(host, port, site.agvs, stop, site.rates.agv_interval_s, start=start,
                     count=count, auth_for=auth_for),
        ),
        name="agvs",
        daemon=True,
    )  # fmt: skip
    if site.agvs:
        agv_thread.start()
    try:
        stats = run_simulators(host, port, site.simulator_spec(), stop, tick, count=count,
                               start=start, auth_for=auth_for)  # fmt: skip
        if site.agvs:
            agv_thread.join()
    finally:
        stop.set()
        for server in servers:
            server.stop()
    console.print(
        f"published {stats.temperature} readings, {stats.rfid} tag reads and "
        f"{agv_sent[0]} AGV states"
    )
