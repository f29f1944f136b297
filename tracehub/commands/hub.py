"""``tracehub run`` and ``tracehub demo``: the hub itself."""

from __future__ import annotations

from contextlib import ExitStack

import click

from traceability.errors import RetentionRefused, TraceabilityError
from tracehub.console import console, stop_on_signals
from tracehub.settings import Settings

insecure_plain = click.option(
    "--insecure-plain",
    is_flag=True,
    help="Run the spawned broker without TLS, passwords or ACL (loopback only; anyone on "
    "this machine could then publish as any device). Same as TRACEHUB_MQTT_SECURITY=plain.",
)


def _plain(settings: Settings, insecure: bool) -> Settings:
    if not insecure:
        return settings
    mqtt = settings.mqtt.model_copy(update={"security": "plain"})
    return settings.model_copy(update={"mqtt": mqtt})


@click.command()
@insecure_plain
@click.option(
    "--scenario",
    metavar="NAME|FILE",
    help="Play a scenario beside the demo: 'excursion' (cold room 1's compressor fails: "
    "alarm, incident, e-mail and webhook notifications with escalation, acknowledgement, "
    "assessment, a signed release, all anchored), or a scenario file of your own.",
)
@click.pass_obj
def demo(settings: Settings, insecure_plain: bool, scenario: str | None) -> None:
    """Run the whole hub locally with simulated devices and print where to look.

    Spawns mosquitto and influxd on free loopback ports (data under
    $TRACEHUB_STATE_DIR/demo, reset at each start), runs the hub on SQLite and
    the embedded EVM, publishes simulated probe readings and RFID reads, and
    prints the consumer page URL and the verify command. Ctrl-C stops it all.

    With --scenario excursion the demo also starts a local webhook receiver and SMTP
    server, and prints each notification the hub sends as the incident unfolds.
    """
    from tracehub.demo import run_demo
    from tracehub.scenario import load_scenario

    try:
        played = load_scenario(scenario)[0] if scenario else None
    except TraceabilityError as exc:
        raise click.ClickException(str(exc)) from exc
    run_demo(_plain(settings, insecure_plain), console, stop_on_signals(), played)


@click.command()
@insecure_plain
@click.pass_obj
def run(settings: Settings, insecure_plain: bool) -> None:
    """Run the hub: gateway, anchoring and web, until Ctrl-C.

    Services named in the environment are used as they are; any left unset
    (MQTT port, InfluxDB URL, chain RPC URL) are spawned locally. The chain is
    then an anvil whose state persists in $TRACEHUB_STATE_DIR/chain, so anchors
    outlive a restart; the in-process EVM, which does not, is for `tracehub demo`.
    """
    from tracehub.alerting import alarm_rules
    from tracehub.hub import Hub
    from tracehub.localstack import start_local_services

    try:  # a mistake in the rule file stops the start, naming the line
        alarm_rules(settings)
    except TraceabilityError as exc:
        raise click.ClickException(str(exc)) from exc
    stop = stop_on_signals()
    with ExitStack() as stack:
        resolved = start_local_services(_plain(settings, insecure_plain), stack, spawn_chain=True)
        try:  # a retention that would delete sealed readings stops the start (issue #20)
            hub = stack.enter_context(Hub(resolved))
        except RetentionRefused as exc:
            raise click.ClickException(f"refused: {exc}") from exc
        console.print(
            f"tracehub running at {hub.url} (chain: {hub.chain.name}, RPC {hub.rpc_url}); "
            "Ctrl-C stops",
            soft_wrap=True,
            highlight=False,
        )
        stop.wait()
