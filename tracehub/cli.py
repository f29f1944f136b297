"""The ``tracehub`` command line."""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
from contextlib import ExitStack
from types import FrameType
from urllib.parse import unquote, urlsplit

import click
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from ledger.errors import ChainError
from traceability.errors import TraceabilityError
from traceability.records import RecordStore
from traceability.verification import VerificationReport, report_json, verify_lot
from tracehub.settings import Settings, load_settings

console = Console()
err_console = Console(stderr=True)

class Problem(click.ClickException):
    """A usage or connection problem (exit code 2), as opposed to a failed check (1)."""

    exit_code = 2


_DIGITAL_LINK = re.compile(r"/01/(?P<gtin>\d{8,14})/10/(?P<lot>[^/?#]+)")


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so long-running commands stop in order."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at debug level.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """tracehub: cold-chain telemetry and traceability you can verify.

    Devices publish over MQTT; the gateway validates readings into InfluxDB and
    turns RFID reads into GS1 EPCIS 2.0 events; the ledger anchors their hashes
    on an EVM chain; consumers open the lot's GS1 Digital Link page and auditors
    run `tracehub verify`.

    Every setting comes from the environment (TRACEHUB_MQTT_HOST/PORT,
    TRACEHUB_INFLUX_URL, TRACEHUB_RECORDS_URL, TRACEHUB_CHAIN_RPC_URL, ...; see
    the README). Unset services run embedded.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
    )
    # httpx logs every request at INFO: one line per InfluxDB write drowns the demo.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ctx.obj = load_settings()


@main.command()
@click.pass_obj
def demo(settings: Settings) -> None:
    """Run the whole hub locally with simulated devices and print where to look.

    Spawns mosquitto and influxd on free loopback ports (data under
    $TRACEHUB_STATE_DIR/demo, reset at each start), runs the hub on SQLite and
    the embedded EVM, publishes simulated probe readings and RFID reads, and
    prints the consumer page URL and the verify command. Ctrl-C stops it all.
    """
    from tracehub.demo import run_demo

    run_demo(settings, console, _stop_on_signals())


@main.command()
@click.pass_obj
def run(settings: Settings) -> None:
    """Run the hub: gateway, anchoring and web, until Ctrl-C.

    Services named in the environment are used as they are; any left unset
    (MQTT port, InfluxDB URL) are spawned locally.
    """
    from tracehub.bootstrap import Hub, start_local_services

    stop = _stop_on_signals()
    with ExitStack() as stack:
        resolved = start_local_services(settings, stack)
        hub = stack.enter_context(Hub(resolved))
        console.print(f"tracehub running at {hub.url} (chain: {hub.chain.name}); Ctrl-C stops")
        stop.wait()


@main.command()
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
        settings.mqtt.host, port, scenario(settings.hub.site, units), _stop_on_signals(), interval
    )
    console.print(f"published {stats.temperature} readings and {stats.rfid} tag reads")


def _lot_from(gtin: str | None, lot: str) -> tuple[str, str]:
    if gtin is not None:
        return gtin, lot
    match = _DIGITAL_LINK.search(urlsplit(lot).path or lot)
    if match is None:
        raise click.BadParameter(
            "give --gtin with --lot, or a GS1 Digital Link such as "
            "https://example.com/01/04012345111118/10/L2026-11A",
            param_hint="--lot",
        )
    return match["gtin"], unquote(match["lot"])


@main.command()
@click.option("--gtin", help="The product's GTIN (8, 12, 13 or 14 digits).")
@click.option(
    "--lot", required=True, help="The lot number, or the lot's GS1 Digital Link URI alone."
)
@click.option(
    "--records",
    metavar="URL",
    help="Records database URL (default: TRACEHUB_RECORDS_URL or the local SQLite file).",
)
@click.option(
    "--rpc-url",
    metavar="URL",
    help="JSON-RPC URL of the chain (default: TRACEHUB_CHAIN_RPC_URL). "
    "For `make demo` it is the hub's /rpc.",
)
@click.option("--contract", metavar="ADDRESS", help="Trust only this anchor contract.")
@click.option("--offline", is_flag=True, help="Check hashes and proofs only, not the chain.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def verify(
    settings: Settings,
    gtin: str | None,
    lot: str,
    records: str | None,
    rpc_url: str | None,
    contract: str | None,
    offline: bool,
    as_json: bool,
) -> None:
    """Re-derive a lot's evidence and say, check by check, whether it holds.

    For every stored event of the lot: its canonical hash must equal the
    recorded Merkle leaf, the leaf must be provably included in its batch root,
    the batch's leaves must reproduce the root, and the root must be anchored on
    chain with the same size. Exits 0 when every check passes, 1 when one
    fails (the failing event is named), 2 on a usage or connection problem.
    """
    gtin, lot = _lot_from(gtin, lot)
    rpc_url = rpc_url or settings.chain.rpc_url
    if not offline and rpc_url is None:
        raise click.UsageError("give --rpc-url (the chain to check the roots on) or --offline")
    try:
        store = RecordStore.open(records or settings.records_url)
    except TraceabilityError as exc:
        raise Problem(str(exc)) from exc
    try:
        lookup = None
        if not offline:
            from ledger.chain import rpc_web3
            from tracehub.bootstrap import chain_lookup_for

            lookup = chain_lookup_for(store, rpc_web3(str(rpc_url)), contract)
        report = verify_lot(store, gtin, lot, lookup)
    except (TraceabilityError, ChainError) as exc:
        raise Problem(str(exc)) from exc
    finally:
        store.close()
    if as_json:
        click.echo(report_json(report))
    else:
        _print_report(report)
    sys.exit(0 if report.ok else 1)


def _print_report(report: VerificationReport) -> None:
    table = Table(title=f"lot {report.lot} of GTIN {report.gtin}", show_lines=False)
    table.add_column("")
    table.add_column("check")
    table.add_column("subject")
    table.add_column("detail", overflow="fold")
    for check in report.checks:
        subject = check.event_id or (f"batch {check.batch_id}" if check.batch_id else "")
        mark = "[green]✓[/]" if check.ok else "[red]✗[/]"
        table.add_row(mark, check.name, subject, check.detail)
    console.print(table)
    if report.ok:
        console.print("[bold green]VERIFIED[/]: every check passed")
    else:
        names = ", ".join(sorted({c.event_id or f"batch {c.batch_id}" for c in report.failures}))
        console.print(f"[bold red]NOT VERIFIED[/]: {len(report.failures)} check(s) failed: {names}")


if __name__ == "__main__":
    main()
