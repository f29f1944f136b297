"""``tracehub verify``: check a lot's evidence, or an exported evidence bundle.

Exit codes (one per verdict): 0 verified, 1 tampered (something does not match),
3 not yet anchored (all consistent, but some evidence still waits for its batch or
confirmations), 4 the chain could not be reached (all consistent offline), 2 a
usage problem (bad option, unreadable bundle, database unreachable).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from rich.markup import escape

from gs1.errors import Gs1Error
from ledger.errors import LedgerError
from ledger.verify.verifier import Outcome, Report, Verdict, verify_bundle
from traceability.anchoring.verification import report_json, verify_lot
from traceability.errors import TraceabilityError
from tracehub.console import Problem, console
from tracehub.settings import Settings

_DIGITAL_LINK = re.compile(r"/01/(?P<gtin>\d{8,14})/10/(?P<lot>[^/?#]+)")
_MARKS = {
    Outcome.OK: "[green]✓[/]",
    Outcome.SKIPPED: "[dim]–[/]",
    Outcome.PENDING: "[yellow]…[/]",
    Outcome.UNREACHABLE: "[yellow]?[/]",
    Outcome.FAIL: "[red]✗[/]",
}
_VERDICTS = {
    Verdict.VERIFIED: "[bold green]VERIFIED[/]: every check passed",
    Verdict.TAMPERED: "[bold red]TAMPERED[/]: the evidence does not hold",
    Verdict.NOT_ANCHORED: "[bold yellow]NOT YET ANCHORED[/]: consistent, but not all anchored",
    Verdict.CHAIN_UNREACHABLE: "[bold yellow]CHAIN UNREACHABLE[/]: consistent offline; "
    "the chain could not be asked",
}


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


def _chain(rpc_url: str | None) -> Any:
    if rpc_url is None:
        return None
    from ledger.evm.contract import rpc_web3
    from ledger.evm.reader import ChainReader

    return ChainReader(rpc_web3(rpc_url))


@click.command()
@click.argument("bundle", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--gtin", help="The product's GTIN (8, 12, 13 or 14 digits).")
@click.option("--lot", help="The lot number, or the lot's GS1 Digital Link URI alone.")
@click.option(
    "--records",
    metavar="URL",
    help="Records database URL (default: TRACEHUB_RECORDS_URL or the local SQLite file).",
)
@click.option(
    "--ledger",
    "ledger_url",
    metavar="URL",
    help="Ledger database URL (default: TRACEHUB_LEDGER_URL, else the records database).",
)
@click.option(
    "--rpc-url",
    "--rpc",
    "rpc_url",
    metavar="URL",
    help="JSON-RPC URL of the chain (default for a lot: TRACEHUB_CHAIN_RPC_URL). "
    "For `make demo` it is the hub's /rpc. A bundle is checked offline without it.",
)
@click.option("--contract", metavar="ADDRESS", help="Trust only this anchor contract.")
@click.option(
    "--trust-key",
    "trusted",
    multiple=True,
    metavar="KEY_ID",
    help="Accept only signatures by these key ids (repeat the option).",
)
@click.option("--offline", is_flag=True, help="Check hashes, signatures and proofs only.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def verify(
    settings: Settings,
    bundle: str | None,
    gtin: str | None,
    lot: str | None,
    records: str | None,
    ledger_url: str | None,
    rpc_url: str | None,
    contract: str | None,
    trusted: tuple[str, ...],
    offline: bool,
    as_json: bool,
) -> None:
    """Check evidence, one line per check, and end with a verdict.

    \b
    tracehub verify BUNDLE [--rpc URL]        an exported evidence bundle (offline
                                              unless --rpc is given)
    tracehub verify --gtin G --lot L          a lot, from the records and ledger
                                              databases (--rpc-url or --offline)

    Every record is re-hashed (RFC 8785) and compared with its signed entry; the
    Ed25519 signature, the lot's hash chain (a dropped or reordered event breaks
    it), the RFC 6962 inclusion proof, the batch and its anchor are checked; with
    a chain URL the root is also looked up on chain. What could not be checked
    is said, never passed over: the roots on chain when offline, and the
    completeness of the lot's tail when no signed manifest vouches for the
    lot's length (an unsigned bundle, or a lot read from the databases).
    Exit codes: 0 verified, 1 tampered, 3 not yet anchored, 4 chain
    unreachable, 2 usage problem.
    """
    trust = trusted or None
    if bundle is not None:
        if lot is not None or gtin is not None:
            raise click.UsageError("give either a BUNDLE file or --gtin/--lot, not both")
        report = verify_bundle(_read_bundle(bundle), _chain(rpc_url), trust, contract)
        _finish(report, as_json, {"bundle": bundle})
    if lot is None:
        raise click.UsageError("give a BUNDLE file to check, or --lot (with --gtin) for a lot")
    gtin, lot = lot_from(gtin, lot)
    rpc_url = rpc_url or settings.chain.rpc_url
    if not offline and rpc_url is None:
        raise click.UsageError("give --rpc-url (the chain to check the roots on) or --offline")
    from ledger.store.sqlstore import LedgerStore
    from traceability.records.store import RecordStore

    records_url = records or settings.records_url
    try:
        store = RecordStore.open(records_url)
        ledger = LedgerStore.open(ledger_url or (records_url if records else settings.ledger_url))
    except (TraceabilityError, LedgerError) as exc:
        raise Problem(str(exc)) from exc
    try:
        report = verify_lot(
            store, ledger, gtin, lot, None if offline else _chain(rpc_url), trust, contract
        )
    except (TraceabilityError, Gs1Error, LedgerError) as exc:
        raise Problem(str(exc)) from exc
    finally:
        ledger.close()
        store.close()
    _finish(report, as_json, {"gtin": gtin, "lot": lot})


def _read_bundle(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        return json.loads(text)
    except OSError as exc:
        raise Problem(f"bundle {path} cannot be read: {exc.strerror}") from exc
    except ValueError as exc:
        raise Problem(
            f"bundle {path} is not JSON ({exc}); export it with `tracehub ledger export`"
        ) from exc


def _finish(report: Report, as_json: bool, extra: dict[str, object]) -> None:
    if as_json:
        click.echo(report_json(report, extra))
    else:
        print_report(report)
    sys.exit(int(report.verdict))


def not_checked_summary(report: Report) -> list[str]:
    """What the report could not check, one phrase per kind (the – lines name each)."""
    lot = report.subject.get("type") == "lot"
    phrases = {
        "on chain": "the roots on chain (offline: add --rpc URL)",
        "completeness": (
            f"completeness of {'the lot' if lot else 'each stream'}'s tail "
            "(no signed manifest: the newest events could be missing)"
        ),
        "bundle signature": "the site's signature over the bundle (unsigned)",
    }
    names = dict.fromkeys(check.name for check in report.not_checked)
    return [phrases.get(name, name) for name in names]


def print_report(report: Report) -> None:
    for check in report.checks:
        line = f"{check.name:<16} {check.subject}: {check.detail}"
        console.print(
            f"{_MARKS[check.outcome]} {escape(line)}",
            soft_wrap=True,
            highlight=False,
            markup=True,
        )
    if report.not_checked:
        console.print(
            "could not check: " + escape("; ".join(not_checked_summary(report))),
            soft_wrap=True,
            highlight=False,
        )
    failures = sorted(
        {c.record_id or c.subject for c in report.failures if c.outcome is Outcome.FAIL}
    )
    console.print(_VERDICTS[report.verdict], highlight=False)
    if failures:
        console.print("failing: " + escape(", ".join(failures)), soft_wrap=True, highlight=False)
