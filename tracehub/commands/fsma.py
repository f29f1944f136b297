"""``tracehub records fsma204``: the FDA FSMA 204 electronic sortable spreadsheet."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Gtin, LotNumber
from traceability.errors import TraceabilityError
from traceability.fsma.export import Fsma204Export
from traceability.fsma.sheet import Format, sheet_bytes
from tracehub.commands.records import open_records, records_option
from tracehub.console import Problem, console
from tracehub.settings import Settings

# A trusted operator's command: bounded against a runaway database, not against a
# request, and given the time it needs (no deadline).
MAX_EVENTS = 500_000
MAX_ROWS = 1_000_000
MAX_LOTS = 500_000
_DAY = click.DateTime(formats=["%Y-%m-%d"])


def _gtin(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return Gtin.parse(value).value
    except InvalidIdentifier as exc:
        raise click.BadParameter(exc.reason) from exc


def _lot(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return LotNumber.parse(value).value
    except InvalidIdentifier as exc:
        raise click.BadParameter(exc.reason) from exc


@click.command(
    "fsma204",
    epilog="Example: tracehub records fsma204 --from 2026-06-01 "
    "--to 2026-06-14 --product 00614141222223 --lot FC0603 --out fc0603.xlsx",
)
@click.option(
    "--from", "start", type=_DAY, required=True, metavar="DAY", help="First day (YYYY-MM-DD)."
)
@click.option(
    "--to", "end", type=_DAY, required=True, metavar="DAY", help="Last day (YYYY-MM-DD), included."
)
@click.option("--product", callback=_gtin, metavar="GTIN", help="Only this product's lots.")
@click.option(
    "--lot",
    callback=_lot,
    help="The lot's full trace: its CTEs, the lots transformed into it and those made from it.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="The file to write: FILE.csv or FILE.xlsx (the format follows the suffix).",
)
@records_option
@click.pass_obj
def fsma204(
    settings: Settings,
    start: datetime,
    end: datetime,
    product: str | None,
    lot: str | None,
    out: Path,
    records: str | None,
) -> None:
    """Write the FSMA 204 electronic sortable spreadsheet FDA asks for within 24 hours.

    One row per Critical Tracking Event (harvesting, cooling, initial packing, first
    land-based receiving, shipping, receiving, transformation) and lot, from the EPCIS
    events and master data in the records, with a column per Key Data Element under
    FDA's names and a "Missing KDEs" column naming what a row lacks (also what the
    records never hold, such as a location's phone number, so the sheet does not look
    complete when it is not). Days are the events' local days. See docs/fsma204.md
    for the mapping and how to answer a request.
    """
    shape = out.suffix.lower().removeprefix(".")
    if shape not in ("csv", "xlsx"):
        raise Problem(f"--out {out}: name a .csv or .xlsx file (the format follows the suffix)")
    fmt: Format = "xlsx" if shape == "xlsx" else "csv"
    first, last = start.date(), end.date()
    with open_records(settings, records) as store:
        try:
            exporter = Fsma204Export(
                store, max_events=MAX_EVENTS, max_rows=MAX_ROWS, max_lots=MAX_LOTS
            )
            rows = exporter.rows(first, last, product=product, lot=lot)
        except TraceabilityError as exc:
            raise Problem(str(exc)) from exc
    out.write_bytes(sheet_bytes(rows, fmt))
    gaps = sum(1 for row in rows if row.missing)
    console.print(
        f"wrote {len(rows)} CTE row(s) from {first} to {last} to {out} ({gaps} with missing KDEs)"
    )
