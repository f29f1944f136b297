"""``tracehub readings``: temperature readings from outside MQTT (USB data-logger files)."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracehub.console import Problem, console
from tracehub.settings import Settings

if TYPE_CHECKING:  # imported when a command runs: `tracehub --help` stays quick
    from gateway.spool import Spool
    from tracehub.loggerimport import LoggerFile

FAMILIES = ("generic", "logtag", "elitech")
_PROGRESS_FROM = 2_000  # readings: a bar for big files only


@click.group()
def readings() -> None:
    """Temperature readings from USB data-logger files (docs/loggers.md)."""


def _counts(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {code.replace('_', ' ')}" for code, n in sorted(counts.items()))


@readings.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--device",
    "device_id",
    required=True,
    help="The logger's device id in the registry (a temperature identity, placed where "
    "it travels).",
)
@click.option("--shipment", help="The shipment the logger travelled with (named in the record).")
@click.option(
    "--format",
    "family",
    type=click.Choice(FAMILIES),
    help="The export's family; default: detected from the content.",
)
@click.option(
    "--tz",
    help="Time zone of times without an offset, when the file names none (Europe/Berlin, +01:00).",
)
@click.option("--unit", type=click.Choice(["C", "F"]), help="°C or °F, when the file says neither.")
@click.option(
    "--date-order",
    type=click.Choice(["dmy", "mdy"]),
    help="Order of slashed dates (03/04/2026), when the file's preamble names none.",
)
@click.option("--wait/--no-wait", default=False, help="Wait until the gateway has drained them.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds --wait waits.")
@click.pass_obj
def import_(
    settings: Settings,
    file: Path,
    device_id: str,
    shipment: str | None,
    family: str | None,
    tz: str | None,
    unit: str | None,
    date_order: str | None,
    wait: bool,
    timeout: float,
) -> None:
    """Import FILE, a USB temperature logger's CSV export, as the readings of --device.

    Why: a logger that travelled with a shipment is the only witness of its
    temperatures; its readings go through the same checks as a probe's (clock,
    placement, redelivery vs conflict), into InfluxDB, sealed in telemetry windows,
    and the file's SHA-256 is signed into the ledger, so the evidence names the file.

    The readings are queued in the hub's spool; the running hub's gateway takes them.
    The same file again creates nothing new; another file with different values at the
    same instants is refused (conflict). Formats: generic (timestamp,temperature_c),
    logtag, elitech (Elitech/Tempmate), °C or °F.

    Example: tracehub readings import trip118.csv --device logger-118 --shipment SH-42 --wait
    """
    from tracehub import loggerimport as li

    loaded = li.read_logger_file(
        file, settings, device_id, shipment=shipment, family=family, tz=tz, unit=unit,
        date_order=date_order,  # type: ignore[arg-type]
    )  # fmt: skip
    export, batch = loaded.export, loaded.batch
    console.print(
        f"{file.name}: {export.family} export, {len(export.readings)} readings "
        f"(°{export.unit}, {export.time_zone or 'times with offsets'}, "
        f"every {export.interval_s} s), sha256 {loaded.sha256}"
    )
    for bad in export.unreadable:
        console.print(f"  line {bad.line} is not a reading: {bad.reason}")
    from tracehub.commands.writers import site_ledger_of

    with site_ledger_of(settings, None) as (ledger, _):
        li.check_record(ledger, loaded)
    config = li.gateway_view(settings)
    if note := li.shipment_note(settings, loaded):
        console.print(f"note: {note}")
    spool = li.open_spool(config)
    try:
        counts, reasons = li.predicted(loaded, spool, settings, config.clock)
        console.print(f"the gateway's rules say: {_counts(counts)}")
        for code, reason in sorted(reasons.items()):
            console.print(f"  {code}: {reason}")
        if li.nothing_storable(counts):
            raise Problem(f"no reading of {file.name} would be stored: nothing queued")
        if li.nothing_new(counts):
            _record(settings, loaded)
            console.print("already imported: every reading is stored, nothing queued")
            return
        queued = _spool(spool, loaded)
        console.print(f"queued {queued} readings on {batch.topic} in {spool.path}")
        _record(settings, loaded)
        if wait:
            _wait(spool, loaded, config.dead_letter_path, timeout)
    finally:
        spool.close()


def _spool(spool: Spool, loaded: LoggerFile) -> int:
    from rich.progress import Progress

    from gateway.loggerfile import spool_batch

    total = len(loaded.batch.items)
    if total < _PROGRESS_FROM:
        return spool_batch(loaded.batch, spool)
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("queueing readings", total=total)
        return spool_batch(loaded.batch, spool, lambda n: bar.advance(task, n))


def _record(settings: Settings, loaded: LoggerFile) -> None:
    from tracehub.commands.writers import site_ledger_of
    from tracehub.loggerimport import submit_record

    with site_ledger_of(settings, None) as (ledger, signer):
        stored, created = submit_record(ledger, signer, loaded)
    state = "signed into the ledger" if created else "already in the ledger"
    console.print(f"file record {loaded.record_id} {state} (entry {stored.id}, kind logger_file)")


def _wait(spool: Spool, loaded: LoggerFile, dead_letters: Path, timeout: float) -> None:
    from gateway.loggerfile import PENDING, outcome, pending

    deadline = time.monotonic() + timeout
    left = pending(loaded.batch, spool.path)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)  # the gateway is another process: polled, no event crosses
        left = pending(loaded.batch, spool.path)
    found = outcome(loaded.batch, spool, dead_letters)
    console.print(f"the gateway: {_counts(found)}")
    if left or found[PENDING]:
        raise click.ClickException(
            f"{left or found[PENDING]} readings still spooled after {timeout:.0f} s: is the "
            "hub running (`tracehub run`)? They are drained when it runs; nothing is lost"
        )
