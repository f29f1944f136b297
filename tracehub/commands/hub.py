"""``tracehub run`` and ``tracehub demo``: the hub itself.

Both hold the state folder's lock (``tracehub.statelock``) for their whole life; ``run``
spawns what the settings leave unset on fixed ports and says where everything is
(``tracehub.endpoints``), on the terminal and in ``<state>/endpoints.json``.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING

import click

from traceability.errors import RetentionRefused, TraceabilityError
from tracehub.console import console, stop_on_signals
from tracehub.roles import CHOICES
from tracehub.settings import Settings

if TYPE_CHECKING:
    from tracehub.endpoints import Endpoints
    from tracehub.hub import Hub
    from tracehub.localstack import LocalStack

GATEWAY_READY_S = 30.0

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

    It holds $TRACEHUB_STATE_DIR/hub.lock while it runs: a second demo, or a `tracehub
    run`, on the same state folder refuses instead of resetting this one's data.
    """
    from tracehub.demo import run_demo
    from tracehub.scenario import load_scenario
    from tracehub.statelock import StateLock, StateLockedError

    try:
        played = load_scenario(scenario)[0] if scenario else None
    except TraceabilityError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        lock = StateLock(settings.hub.state_dir)
        lock.acquire()
    except StateLockedError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        run_demo(_plain(settings, insecure_plain), console, stop_on_signals(), played)
    finally:
        lock.release()


@click.command()
@insecure_plain
@click.option(
    "--role",
    "role_names",
    type=click.Choice(CHOICES),
    multiple=True,
    help="What this process runs (repeat for several; default all): gateway (ingest, "
    "RFID/AGV events, sealing what it received), web (pages, APIs, console, capture jobs, "
    "subscriptions), anchor (ledger batches on the chain), alarm (rules, notifications). "
    "Several processes of one role share the work (docs/deploy.md).",
)
@click.pass_obj
def run(settings: Settings, insecure_plain: bool, role_names: tuple[str, ...]) -> None:
    """Run the hub: gateway, anchoring, alarms and web, until Ctrl-C.

    Services named in the environment are used as they are; any left unset
    (MQTT port, InfluxDB URL, chain RPC URL) are spawned locally, with their data
    under $TRACEHUB_STATE_DIR, on fixed ports so devices are pointed at them once:
    MQTT 8883 (TLS, client certificates) and 8884 (TLS, passwords), or 1883 with
    --insecure-plain; InfluxDB 8086; anvil 8545; all on 127.0.0.1. Change them with
    TRACEHUB_SPAWN_HOST, TRACEHUB_SPAWN_MQTT_PORT, TRACEHUB_SPAWN_MQTT_PASSWORD_PORT,
    TRACEHUB_SPAWN_INFLUX_PORT, TRACEHUB_SPAWN_CHAIN_PORT (0: any free port). A port
    that another program holds stops the start, naming the port, the program and
    the variable. The chain is an anvil whose state persists in
    $TRACEHUB_STATE_DIR/chain, so anchors outlive a restart; the in-process EVM,
    which does not, is for `tracehub demo`.

    One hub per state folder: a second `tracehub run` on the same
    TRACEHUB_STATE_DIR refuses at once (the lock $TRACEHUB_STATE_DIR/hub.lock,
    dropped by the kernel however the hub ends). What it spawned dies with it,
    kill -9 included, and the next start comes back on the same ports. Every
    endpoint (web, console, MQTT, InfluxDB, chain, databases without passwords,
    Grafana) is printed once the hub serves and written to
    $TRACEHUB_STATE_DIR/endpoints.json, which `tracehub status` shows.

    With --role, the process is one of several sharing one deployment: it spawns
    nothing, and refuses to start until the shared services are named
    (TRACEHUB_RECORDS_URL, TRACEHUB_LEDGER_KEYS_DIR, TRACEHUB_INFLUX_URL,
    TRACEHUB_CHAIN_RPC_URL and TRACEHUB_CHAIN_CONTRACT, the broker for a gateway, the
    device registry for gateway and web). Each instance has a state folder of its own
    (its spool, lock and endpoints). Anchor and alarm instances elect one leader
    through leases in the databases; web and gateway instances split the load (gateway
    replicas by TRACEHUB_GATEWAY_PARTITION=i/N). `tracehub status` lists every instance.

    \b
    Examples:
      TRACEHUB_STATE_DIR=/var/lib/tracehub tracehub run
      TRACEHUB_STATE_DIR=/var/lib/tracehub/web-1 tracehub run --role web
      TRACEHUB_STATE_DIR=/var/lib/tracehub/work tracehub run --role anchor --role alarm
    """
    from tracehub.alerting import alarm_rules
    from tracehub.endpoints import forget_endpoints, write_endpoints
    from tracehub.hub import Hub
    from tracehub.localstack import LocalStack, start_local_stack
    from tracehub.processes import ServiceError
    from tracehub.roles import ALL, parse_roles, split_problems
    from tracehub.statelock import StateLock

    roles = parse_roles(role_names)
    try:  # a mistake in the rule file stops the start, naming the line (writes nothing)
        alarm_rules(settings)
    except TraceabilityError as exc:
        raise click.ClickException(str(exc)) from exc
    settings = _plain(settings, insecure_plain)
    missing = split_problems(settings, roles)
    if missing:
        raise click.ClickException(
            "an instance with --role spawns nothing; name what the instances share:\n  "
            + "\n  ".join(missing)
        )
    stop = stop_on_signals()
    with ExitStack() as stack:
        try:  # the lock before any spawn: a second hub must not touch the first one's
            stack.enter_context(StateLock(settings.hub.state_dir))
            if "web" in roles:
                _check_web_port(settings)
            if roles == ALL:
                local = start_local_stack(settings, stack, spawn_chain=True, stable_ports=True)
            else:
                local = LocalStack(settings)
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from exc
        try:  # a retention that would delete sealed readings stops the start (issue #20)
            hub = stack.enter_context(Hub(local.settings, roles=roles))
        except RetentionRefused as exc:
            raise click.ClickException(f"refused: {exc}") from exc
        # The endpoints are said once devices can publish: the gateway has subscribed.
        if "gateway" in roles and not hub.gateway.wait_ready(timeout=GATEWAY_READY_S):
            console.print(
                f"the gateway has not subscribed to the broker within {GATEWAY_READY_S:.0f} s: "
                "it keeps trying (`tracehub status` shows why)",
                soft_wrap=True,
                highlight=False,
            )
        points = endpoints_of(local, hub)
        state = settings.hub.state_dir
        written = write_endpoints(state, points)
        stack.callback(forget_endpoints, state)  # runs first at exit: no stale file
        where = f"at {hub.url}" if "web" in roles else f"as {points.roles}"
        console.print(
            f"tracehub running {where} (chain: {hub.chain.name}, RPC {hub.rpc_url}); Ctrl-C stops",
            soft_wrap=True,
            highlight=False,
        )
        for line in [*points.lines(), f"  (also in {written}; `tracehub status` shows them)"]:
            console.print(line, soft_wrap=True, highlight=False, markup=False)
        stop.wait()


def _check_web_port(settings: Settings) -> None:
    """Left to itself the web server moves to a free port when its own is taken (right
    for a demo); the hub's address is printed on labels and QR codes: say so instead."""
    from tracehub.processes import PortTakenError, ServiceError, check_port

    if not settings.web.port:
        return
    try:
        check_port(settings.web.host, settings.web.port, "the web server")
    except PortTakenError as exc:
        raise ServiceError(f"{exc}: stop it, or set TRACEHUB_WEB_PORT to a free port") from exc


def endpoints_of(local: LocalStack, hub: Hub) -> Endpoints:
    """Where the started hub and what it uses are reached (no passwords)."""
    import os

    from tracehub.consolesite import grafana_dashboard
    from tracehub.endpoints import Broker, Endpoints, redact
    from tracehub.roles import roles_text

    settings = local.settings
    mqtt = settings.mqtt
    assert settings.influx.url is not None, "resolved by start_local_stack"
    broker = local.broker
    password_port = None
    if broker is not None and broker.tls is not None and broker.tls.password_file is not None:
        password_port = broker.password_port
    gateway = None
    if "gateway" in hub.roles:
        assert mqtt.port is not None, "resolved by start_local_stack"
        gateway = Broker(
            host=mqtt.host,
            port=mqtt.port,
            tls=mqtt.security == "tls",
            password_port=password_port,
            spawned=broker is not None,
        )
    return Endpoints(
        pid=os.getpid(),
        state_dir=str(settings.hub.state_dir.absolute()),
        roles=roles_text(hub.roles),
        instance=hub.instance,
        web=hub.url if "web" in hub.roles else None,
        mqtt=gateway,
        influx=redact(settings.influx.url),
        influx_database=settings.influx.database,
        influx_spawned=local.influx is not None,
        chain=hub.chain.name,
        rpc_url=redact(hub.rpc_url) if hub.rpc_url else None,
        records=redact(settings.records_url),
        ledger=redact(settings.ledger_url),
        grafana=grafana_dashboard(),
    )
