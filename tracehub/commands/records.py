"""``tracehub records``: import ERP/WMS exports, capture EPCIS documents, trace and recall
a lot, its cold-chain exposure, and RFID inventory reconciliation."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

import click

from gs1.epcis.xmlcapture import xml_capture_document
from gs1.errors import EventRejected, Gs1Error
from traceability.anchoring.feeder import LOT_EXPOSURE_KIND, EventLeaves, submit_lot_record
from traceability.capture import CaptureService
from traceability.coldchain.exposure import ExposureService
from traceability.coldchain.status import InfluxLotStatusWriter
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.errors import TraceabilityError
from traceability.expiry import near_expiry
from traceability.imports import IMPORT_KINDS, ImportRejected, import_records
from traceability.inventory import reconcile
from traceability.records.entities import Product
from traceability.records.stability import BudgetStep, parse_steps, steps_text
from traceability.records.store import RecordStore
from tracehub.auditing import os_user, reason_option
from tracehub.commands.writers import master_writer, site_ledger_of
from tracehub.console import Problem, console, err_console
from tracehub.settings import Settings
from tracehub.subscribing import subscriptions_for

records_option = click.option(
    "--records", metavar="URL", help="Records database URL (default: TRACEHUB_RECORDS_URL)."
)


@contextmanager
def open_records(settings: Settings, url: str | None) -> Iterator[RecordStore]:
    """The records database of ``--records`` or the settings, closed after use; a store
    that cannot be opened is a ``Problem`` (one line, exit 1)."""
    try:
        store = RecordStore.open(url or settings.records_url)
    except TraceabilityError as exc:
        raise Problem(str(exc)) from exc
    try:
        yield store
    finally:
        store.close()


@click.group()
def records() -> None:
    """Lots, EPCIS events, custody, exposure and recall in the records database."""


@records.command("migrate")
@records_option
@click.pass_obj
def migrate_cmd(settings: Settings, records: str | None) -> None:
    """Bring the records database to the newest schema (Alembic)."""
    with open_records(settings, records):
        console.print("records database is at the newest schema")


# "\b" keeps click from re-flowing the list; each kind's columns wrap under its name.
_KINDS_HELP = "\n".join(
    ["\b", "KIND and its columns (CSV header or JSON keys):"]
    + [
        textwrap.fill(f"{name}: {kind.help}", 78, initial_indent="  ", subsequent_indent="    ")
        for name, kind in IMPORT_KINDS.items()
    ]
)


@records.command("import", epilog=_KINDS_HELP)
@click.argument("kind", type=click.Choice(list(IMPORT_KINDS)))
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@records_option
@reason_option
@click.pass_obj
def import_cmd(
    settings: Settings, kind: str, path: Path, records: str | None, reason: str | None
) -> None:
    """Import a CSV or JSON export; any bad row rejects the whole file.

    Products, lots and locations are also signed by the site as new versions of their
    ledger streams (anchored by the hub's next batch); the lot page and `tracehub
    verify` hold the records to them.
    """
    fmt: Literal["csv", "json"] = "json" if path.suffix.lower() == ".json" else "csv"
    text = path.read_text(encoding="utf-8")
    with open_records(settings, records) as store:
        try:
            if IMPORT_KINDS[kind].signed is None:
                count = import_records(store, kind, text, fmt)
            else:
                with master_writer(
                    settings, store, records, reason or f"import of {path.name}"
                ) as master:
                    count = import_records(
                        store, kind, text, fmt, master=master, warn=_warning(path.name)
                    )
        except ImportRejected as exc:
            for error in exc.errors:
                console.print(f"[red]{path.name}[/red] {error}")
            raise SystemExit(1) from exc
    console.print(f"imported {count} {kind} from {path}")


def _warning(name: str) -> Callable[[str], None]:
    def warn(message: str) -> None:
        console.print(f"[yellow]{name}[/yellow] warning: {message}")

    return warn


@records.group("product")
def product_group() -> None:
    """Add or change one product; each change is signed by the site as a new version of
    the product's master data (as an import of products is)."""


def _steps(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> tuple[BudgetStep, ...] | None:
    if value is None:
        return None
    try:
        return parse_steps(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


# Every product field but the GTIN, as an option: (option, field, type, help).
_PRODUCT_OPTIONS: tuple[tuple[str, str, Any, str], ...] = (
    ("--name", "name", str, "Product name."),
    ("--temp-min", "temp_min_c", float, "Lowest allowed temperature, °C."),
    ("--temp-max", "temp_max_c", float, "Highest allowed temperature, °C."),
    (
        "--excursion-budget",
        "excursion_budget_min",
        click.FloatRange(min=0),
        "Minutes out of range allowed (one allowance for above and below the band).",
    ),
    ("--mkt-limit", "mkt_limit_c", float, "Mean kinetic temperature limit, °C."),
    (
        "--shelf-life-days",
        "shelf_life_days",
        click.IntRange(min=0),
        "Shelf life from the production date (dates a lot without an expiry).",
    ),
)
_BUDGET_HELP = (
    "Stability budget per temperature step, side:limit_c:minutes joined by ';' (e.g. "
    "above:25:60;above:30:10;below:0:30: 60 min up to 25 °C, 10 more up to 30 °C, 30 min "
    "down to 0 °C); '' removes it."
)


def _product_options(command: Callable[..., None]) -> Callable[..., None]:
    for option, field, kind, text in reversed(_PRODUCT_OPTIONS):
        command = click.option(option, field, type=kind, help=text)(command)
    return click.option(
        "--stability-budget", "stability_budget", callback=_steps, help=_BUDGET_HELP
    )(command)


def _show_product(product: Product) -> None:
    data = product.model_dump(mode="json")
    data["stability_budget"] = steps_text(product.stability_budget)
    console.print_json(json.dumps(data))


@product_group.command("add")
@click.option("--gtin", required=True)
@_product_options
@records_option
@reason_option
@click.pass_obj
def product_add_cmd(
    settings: Settings, /, gtin: str, records: str | None, reason: str | None, **fields: Any
) -> None:
    """Add a product (the identical product again changes nothing)."""
    if fields.get("name") is None:
        raise Problem("--name: give the product's name")
    given = {k: v for k, v in fields.items() if v is not None}
    name = given.pop("name")
    with (
        open_records(settings, records) as store,
        master_writer(settings, store, records, reason) as master,
    ):
        try:
            product = master.add_product(gtin, name, **given)
        except (TraceabilityError, Gs1Error) as exc:
            raise Problem(str(exc)) from exc
    _show_product(product)


@product_group.command("update")
@click.option("--gtin", required=True)
@_product_options
@records_option
@reason_option
@click.pass_obj
def product_update_cmd(
    settings: Settings, /, gtin: str, records: str | None, reason: str | None, **fields: Any
) -> None:
    """Change the given fields of a known product; the others stay."""
    changes = {k: v for k, v in fields.items() if v is not None}
    if not changes:
        raise Problem("give at least one field to change (see --help)")
    with (
        open_records(settings, records) as store,
        master_writer(settings, store, records, reason) as master,
    ):
        try:
            product = master.update_product(gtin, **changes)
        except (TraceabilityError, Gs1Error) as exc:
            raise Problem(str(exc)) from exc
    _show_product(product)


@records.command("expiring")
@click.option(
    "--days", type=int, help="Warning window (default TRACEHUB_RECORDS_NEAR_EXPIRY_DAYS)."
)
@click.option("--gtin", help="Only this product's lots.")
@records_option
@click.pass_obj
def expiring_cmd(
    settings: Settings, days: int | None, gtin: str | None, records: str | None
) -> None:
    """Expired and near-expiry lots, first expiry first (FEFO: sell or pull these first)."""
    window = settings.records.near_expiry_days if days is None else days
    if window < 0:
        raise Problem(f"--days {window}: must be zero or more")
    with open_records(settings, records) as store:
        lots = store.lots(gtin)
        # A lot without an expiry is dated by its product's shelf life.
        products = {g: store.get_product(g) for g in {lot.gtin for lot in lots}}
        lives = {g: p.shelf_life_days if p else None for g, p in products.items()}
        flagged = near_expiry(lots, datetime.now(UTC).date(), window, lives)
    for status in flagged:
        console.print(status.warning)
    console.print(f"{len(flagged)} lot(s) expired or expiring within {window} day(s)")


@records.command("capture")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--proceed", is_flag=True, help="Store the valid events even if some fail.")
@records_option
@click.pass_obj
def capture_cmd(settings: Settings, path: Path, proceed: bool, records: str | None) -> None:
    """Capture an EPCIS 2.0 document (JSON-LD, or XML for a .xml file); each accepted
    event is signed by the site before it is stored, with a capture receipt naming
    cli:<your OS user> as its sender, and anchored by the hub's next batch. Warnings
    (an unknown parent, lot or place) are printed; they never refuse an event."""
    xml = path.suffix.lower() == ".xml"
    try:
        raw = path.read_bytes()
        document = xml_capture_document(raw) if xml else json.loads(raw.decode("utf-8"))
    except EventRejected as exc:
        raise Problem(f"{path}: {exc.field}: {exc.reason}") from exc
    with (
        open_records(settings, records) as store,
        site_ledger_of(settings, records) as (ledger, signer),
    ):
        # Matched against the query subscriptions as the hub's own captures are.
        hook = subscriptions_for(settings, store).on_stored
        capture = CaptureService(store, ledger=EventLeaves(ledger, signer), on_stored=hook)
        behaviour: Literal["rollback", "proceed"] = "proceed" if proceed else "rollback"
        report = capture.capture_document(
            document, behaviour, source=f"cli:{os_user()}", syntax="xml" if xml else "json"
        )
    for error in report.errors:
        console.print(f"[red]event {error.index}[/red] {error.field}: {error.reason}")
    for warning in report.warnings:
        console.print(f"[yellow]event {warning.index}[/yellow] {warning.field}: {warning.reason}")
    new = sum(o.created for o in report.captured)
    console.print(f"captured {len(report.captured)} events ({new} new)")
    if report.errors:
        raise SystemExit(1)


@records.command("trace")
@click.option("--gtin", required=True)
@click.option("--lot", required=True)
@records_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def trace_cmd(settings: Settings, gtin: str, lot: str, records: str | None, as_json: bool) -> None:
    """Recall: where every unit of the lot is now, and its custody timeline."""
    with open_records(settings, records) as store:
        custody = CustodyService(store)
        where = custody.where_now(gtin, lot)
        timeline = custody.lot_timeline(gtin, lot)
    if as_json:
        console.print_json(
            json.dumps({"units": where, "stays": json.loads(timeline.model_dump_json())["stays"]})
        )
        return
    for epc, location in sorted(where.items()):
        console.print(f"{epc}  →  {location or 'unknown'}")
    for stay in timeline.stays:
        console.print(f"  {stay.start.isoformat()} … {stay.end or 'now'}  {stay.location}")


@records.command("exposure")
@click.option("--gtin", required=True)
@click.option("--lot", required=True)
@records_option
@click.option("--publish", is_flag=True, help="Write lot_status/lot_location to InfluxDB.")
@click.option(
    "--anchor",
    is_flag=True,
    help="Also make the exposure summary a signed leaf of the lot's hash chain (anchored by "
    "the hub's next batch; carried by the lot's evidence bundle).",
)
@click.pass_obj
def exposure_cmd(
    settings: Settings, gtin: str, lot: str, records: str | None, publish: bool, anchor: bool
) -> None:
    """Cold-chain exposure of a lot from InfluxDB (TRACEHUB_INFLUX_URL)."""
    if settings.influx.url is None:
        raise Problem("set TRACEHUB_INFLUX_URL to the InfluxDB holding the temperatures")
    with (
        open_records(settings, records) as store,
        InfluxTemperatureReader(settings.influx.url, settings.influx.database) as reader,
    ):
        try:
            result = ExposureService(store, reader).exposure(gtin, lot)
        except (TraceabilityError, Gs1Error) as exc:
            raise Problem(str(exc)) from exc
        if publish:
            writer = InfluxLotStatusWriter(settings.influx.url, settings.influx.database)
            try:
                writer.write_status(result, datetime.now(UTC))
                writer.write_locations(
                    result.gtin, lot, CustodyService(store).lot_timeline(result.gtin, lot)
                )
            finally:
                writer.close()
    if anchor:
        from tracehub.keys import site_ledger

        with site_ledger(settings) as (ledger, signer):
            entry = submit_lot_record(
                ledger, signer, LOT_EXPOSURE_KIND, gtin, lot, result.model_dump(mode="json")
            )
        err_console.print(
            f"exposure summary {entry.entry.record_id} submitted to the lot's chain; "
            "the hub anchors it in its next batch"
        )
    console.print_json(result.model_dump_json())


@records.command("inventory")
@click.option("--location", required=True, help="SGLN URN of the counted location.")
@click.argument("observed", type=click.File("r"))
@records_option
@click.pass_obj
def inventory_cmd(
    settings: Settings, location: str, observed: IO[str], records: str | None
) -> None:
    """Reconcile a cycle count (one EPC per line) with the records."""
    epcs = [line.strip() for line in observed if line.strip()]
    with open_records(settings, records) as store:
        report = reconcile(store, location, epcs)
    console.print_json(report.model_dump_json())
    if not report.ok:
        raise SystemExit(1)
