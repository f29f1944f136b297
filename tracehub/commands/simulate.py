"""``tracehub simulate``: simulated devices for a site."""

from __future__ import annotations

import click

from tracehub.console import console, stop_on_signals
from tracehub.settings import Settings


@click.command()
@click.option("--interval", default=1.0, show_default=True, help="Seconds between readings.")
@click.option("--units", default=3, show_default=True, help="Demo units the dock reader sees.")
@click.pass_obj
def simulate(settings: Settings, interval: float, units: int) -> None:
    """Publish the demo site's simulated probes and RFID reader to the broker.

    The broker is TRACEHUB_MQTT_HOST / TRACEHUB_MQTT_PORT (default port 1883).
    """
    from sensors.simulator import run_simulators
    from tracehub.demo import scenario

    port = settings.mqtt.port or 1883
    stats = run_simulators(
        settings.mqtt.host, port, scenario(settings.hub.site, units), stop_on_signals(), interval
    )
    console.print(f"published {stats.temperature} readings and {stats.rfid} tag reads")
