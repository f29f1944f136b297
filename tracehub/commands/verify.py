"""``tracehub verify``: re-derive a lot's evidence, check by check."""

from __future__ import annotations

import re
import sys
from urllib.parse import unquote, urlsplit

import click
from rich.table import Table

from ledger.errors import ChainError
from traceability.errors import TraceabilityError
from traceability.records import RecordStore
from traceability.verification import VerificationReport, report_json, verify_lot
from tracehub.console import Problem, console
from tracehub.settings import Settings

_DIGITAL_LINK = re.compile(r"/01/(?P<gtin>\d{8,14})/10/(?P<lot>[^/?#]+)")


def lot_from(gtin: str | None, lot: str) -> tuple[str, str]:
    """(GTIN, lot) from ``--gtin``/``--lot``, or from a Digital Link given as ``--lot``."""
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


@click.command()
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
    gtin, lot = lot_from(gtin, lot)
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
        print_report(report)
    sys.exit(0 if report.ok else 1)


def print_report(report: VerificationReport) -> None:
    table = Table(title=f"lot {report.lot} of GTIN {report.gtin}")
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
