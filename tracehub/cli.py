"""The ``tracehub`` command line: the group, its logging, and its commands.

Each area's commands live in ``tracehub/commands/<area>.py`` and are added to
the group here, one line each.
"""

from __future__ import annotations

import logging

import click
from rich.logging import RichHandler

from tracehub.commands import (
    audit,
    calibration,
    carbon,
    clients,
    compose,
    devices,
    fsma,
    grafana,
    hub,
    incidents,
    ledger,
    qr,
    readings,
    records,
    retention,
    simulate,
    status,
    users,
    verify,
)
from tracehub.console import err_console
from tracehub.settings import load_settings


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


main.add_command(hub.demo)
main.add_command(hub.run)
main.add_command(simulate.simulate)
main.add_command(verify.verify)
main.add_command(ledger.ledger)
main.add_command(carbon.carbon)
main.add_command(grafana.grafana)
main.add_command(records.records)
main.add_command(status.status)
main.add_command(devices.devices)
main.add_command(clients.clients)
main.add_command(users.users)
main.add_command(incidents.incidents)
main.add_command(qr.qr)
main.add_command(audit.audit)
main.add_command(readings.readings)
main.add_command(calibration.calibration)
main.add_command(retention.retention)
main.add_command(compose.compose)
records.records.add_command(fsma.fsma204)


if __name__ == "__main__":
    main()
