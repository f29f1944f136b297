"""``tracehub carbon``: a lot's footprint report (ISO 14083 / GLEC) and the factor table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Gtin
from traceability.carbon.assessment import assess
from traceability.carbon.chain import LotCarbonInput
from traceability.carbon.coldroom import InfluxColdRoomPower
from traceability.carbon.errors import CarbonError
from traceability.carbon.factors import FactorTable, load_default_factors, read_factor_csv
from traceability.carbon.records import RecordsCarbonSource
from traceability.carbon.report import lot_report, report_digest, report_leaf
from traceability.carbon.source import JsonFileSource
from traceability.errors import TraceabilityError
from traceability.records.store import RecordStore
from tracehub.console import Problem, console
from tracehub.settings import Settings


@click.group()
def carbon() -> None:
    """Carbon footprint per lot and shipment (ISO 14083 / GLEC Framework)."""


def _table(extra: Path | None) -> FactorTable:
    table = load_default_factors()
    if extra is None:
        return table
    try:
        text = extra.read_text(encoding="utf-8")
    except OSError as exc:
        raise Problem(f"--factors: cannot read {extra}: {exc.strerror}") from exc
    return table.with_primary(read_factor_csv(text, extra.name, "primary").factors)


@carbon.command()
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The lot's footprint input (JSON; shape in docs/carbon.md). Without it the "
    "input is read from the records database (TRACEHUB_RECORDS_URL) for --lot.",
)
@click.option("--gtin", help="The lot's GTIN (14 digits); or give --lot GTIN/LOT.")
@click.option("--lot", help="The lot, as LOT with --gtin or as GTIN/LOT.")
@click.option(
    "--factors",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your own (primary) factors, CSV with the columns of emission_factors.csv.",
)
@click.option("--influx-url", metavar="URL", help="InfluxDB v1 API (default TRACEHUB_INFLUX_URL).")
@click.option("--database", help="InfluxDB database (default TRACEHUB_INFLUX_DATABASE).")
@click.option(
    "--created",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S"]),
    help="Report creation time (UTC if no zone; default now). Fix it to reproduce a digest.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the PACT/iLEAP JSON report.")
@click.option(
    "--anchor",
    is_flag=True,
    help="Keep the report in the ledger as a leaf of the lot's hash chain, signed by the "
    "site; the hub's anchoring loop anchors it with its next batch.",
)
@click.option("--ledger", "ledger_url", metavar="URL", help="Ledger database URL (--anchor).")
@click.pass_obj
def report(
    settings: Settings,
    input_path: Path | None,
    gtin: str | None,
    lot: str | None,
    factors: Path | None,
    influx_url: str | None,
    database: str | None,
    created: datetime | None,
    as_json: bool,
    anchor: bool,
    ledger_url: str | None,
) -> None:
    """Compute a lot's footprint: legs, hubs, cold storage from telemetry, packaging.

    With --anchor the report also goes into the ledger (pending until the hub's next
    batch; the same figures again add nothing). Exits 0 with the report, 2 when the
    input, a factor or the telemetry is missing or wrong (the message names the field).
    """
    if lot is not None and gtin is None and "/" in lot:
        gtin, lot = lot.split("/", 1)
    try:
        if input_path is not None:
            source = JsonFileSource(input_path)
            data = source.read()
            if gtin is not None or lot is not None:
                data = source.lot_input(gtin or data.gtin, lot or data.lot)
        else:
            if gtin is None or lot is None:
                raise Problem("give --lot GTIN/LOT (from the records) or --input FILE.json")
            data = _from_records(settings, gtin, lot)
        table = _table(factors)
        if not data.all_stays():
            footprint = assess(data, None, table)
        else:
            url = influx_url or settings.influx.url
            if url is None:
                raise Problem(
                    "the input has cold-room stays: give --influx-url (or TRACEHUB_INFLUX_URL)"
                )
            with InfluxColdRoomPower(url, database or settings.influx.database) as power:
                footprint = assess(data, power, table)
    except CarbonError as exc:
        raise Problem(str(exc)) from exc
    moment = created or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    document = lot_report(footprint, created=moment)
    kept = _anchor(settings, ledger_url, data.gtin, data.lot, document) if anchor else None
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
        if kept is not None:
            click.echo(kept, err=True)
        return
    grid = Table(title=f"Carbon footprint of lot {data.lot} (GTIN {data.gtin}), kg CO2e WTW")
    for column in ("item", "kind", "kg CO2e", "allocation", "factors"):
        grid.add_column(column, justify="right" if column == "kg CO2e" else "left")
    for item in footprint.items:
        allocation = "" if item.allocation is None else item.allocation.value
        if item.allocation_share is not None:
            allocation += f" {item.allocation_share:.4g}"
        grid.add_row(
            item.id, item.kind, f"{item.kg_co2e:.3f}", allocation, ", ".join(item.factor_ids)
        )
    console.print(grid)
    console.print(
        f"total {footprint.total_kg_co2e:.3f} kg CO2e · {footprint.per_kg:.6f} per kg · "
        f"{footprint.per_unit:.6f} per unit ({data.units} units)"
    )
    for factor in footprint.factors:
        console.print(f"  {factor.origin:7} {factor.id}: {factor.source}, {factor.edition}")
    leaf = report_leaf(document)
    console.print(f"report {leaf['reportId']} {report_digest(document)}")
    if kept is not None:
        console.print(kept, highlight=False)


def _anchor(
    settings: Settings, ledger_url: str | None, gtin: str, lot: str, document: dict[str, Any]
) -> str:
    """Keep the report in the ledger (same code path as the demo); what to tell the user."""
    from ledger.errors import LedgerError
    from ledger.store.sqlstore import LedgerStore
    from traceability.anchoring.feeder import lot_stream
    from traceability.carbon.ledgerreport import publish_report
    from tracehub.keys import open_keystore

    now = datetime.now(UTC)
    try:
        signer = open_keystore(settings).signer(f"site:{settings.hub.site}", now)
        ledger = LedgerStore.open(ledger_url or settings.ledger_url)
    except LedgerError as exc:
        raise Problem(f"--anchor: {exc}") from exc
    try:
        published = publish_report(ledger, signer, gtin, lot, document, now)
    except LedgerError as exc:
        raise Problem(f"--anchor: {exc}") from exc
    finally:
        ledger.close()
    kept = published.kept
    where = f"seq {kept.seq} of {lot_stream(gtin, lot)}"
    if kept.status == "anchored":
        state = f"anchored in batch {kept.batch_id}, block {kept.block_number}"
    else:
        state = "pending until the hub's next batch"
    if published.submitted:
        return f"kept carbon report {kept.record_id} {kept.digest} as {where}; {state}"
    return (
        f"unchanged: the lot's latest carbon report {kept.record_id} {kept.digest} ({where}) "
        f"has the same figures; not submitted again; {state}"
    )


def _from_records(settings: Settings, gtin: str, lot: str) -> LotCarbonInput:
    try:
        store = RecordStore.open(settings.records_url)
    except TraceabilityError as exc:
        raise Problem(f"records database: {exc}") from exc
    try:
        return RecordsCarbonSource(store).lot_input(Gtin.parse(gtin).value, lot)
    except InvalidIdentifier as exc:
        raise Problem(f"--lot: {exc}") from exc
    finally:
        store.close()


@carbon.command(name="factors")
@click.option("--json", "as_json", is_flag=True, help="Print every factor as JSON.")
def factors_command(as_json: bool) -> None:
    """List the shipped default emission factors with their sources."""
    table = load_default_factors()
    if as_json:
        click.echo(json.dumps([f.disclosure() for f in table.factors], indent=2))
        return
    grid = Table(title="Default emission factors (GLEC Framework v3.0)")
    for column in ("id", "value", "unit", "scope"):
        grid.add_column(column)
    for factor in table.factors:
        grid.add_row(factor.id, f"{factor.value:g}", factor.unit, factor.scope.value)
    console.print(grid)
