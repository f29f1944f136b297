"""``tracehub verify``: check a lot's evidence, or an exported evidence bundle.

Exit codes (one per verdict): 0 verified, 1 tampered (something does not match),
3 not yet anchored (all consistent, but some evidence still waits for its batch or
confirmations), 4 the chain could not be reached (all consistent offline), 5 the
chain asked is not the one the batches were anchored on (reset or replaced), 6
self-consistent but not attributed (no trust anchor said who signed), 7 attributed
but the anchors were not checked (offline), 2 a usage problem (bad option,
unreadable bundle or trust anchor, database unreachable).

Trust anchors come from outside the bundle: ``--trust`` (a site's
``/.well-known/tracehub.json`` by URL, a local copy of it, a key fingerprint or key
id) and ``--contract``; for ``--gtin/--lot`` on the site itself, its own keystore and
configured contract. The report says which it used.

A lot's bundle carries the numbers its page states (``claims``); both forms recompute
them from the proven inputs (``traceability.anchoring.claimcheck``). For ``--gtin/--lot``
the claims are computed here the way the page computes them (InfluxDB, the anchored
master data, the kept carbon report) and the journey is re-derived from the signed
event bodies; a BUNDLE's claims are recomputed from the bundle alone.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from rich.markup import escape

from gs1.errors import Gs1Error
from ledger.errors import LedgerError
from ledger.verify.trust import TrustAnchors, combine, contract_from_text, from_keys
from ledger.verify.verifier import Outcome, Report, Verdict, verify_bundle
from traceability.anchoring.verification import report_json, verify_lot
from traceability.errors import TraceabilityError
from tracehub.console import Problem, console
from tracehub.localstack import local_influx_url, local_rpc_url
from tracehub.settings import Settings
from tracehub.trustsources import trust_source

_DIGITAL_LINK = re.compile(r"/01/(?P<gtin>\d{8,14})/10/(?P<lot>[^/?#]+)")
_MARKS = {
    Outcome.OK: "[green]✓[/]",
    Outcome.SKIPPED: "[dim]–[/]",
    Outcome.PENDING: "[yellow]…[/]",
    Outcome.UNREACHABLE: "[yellow]?[/]",
    Outcome.OTHER_CHAIN: "[red]≠[/]",
    Outcome.FAIL: "[red]✗[/]",
}
_VERDICTS = {
    Verdict.VERIFIED: "[bold green]VERIFIED[/]: every check passed",
    Verdict.TAMPERED: "[bold red]TAMPERED[/]: the evidence does not hold",
    Verdict.NOT_ANCHORED: "[bold yellow]NOT YET ANCHORED[/]: consistent, but not all anchored",
    Verdict.CHAIN_UNREACHABLE: "[bold yellow]CHAIN UNREACHABLE[/]: consistent offline; "
    "the chain could not be asked",
    Verdict.OTHER_CHAIN: "[bold red]OTHER CHAIN[/]: this chain is not the one the evidence "
    "was anchored on (reset or replaced); the records are not shown tampered, but their "
    "anchors cannot be checked here",
    Verdict.NOT_ATTRIBUTED: "[bold yellow]SELF-CONSISTENT, NOT ATTRIBUTED[/]: nothing "
    "contradicts itself, but no trust anchor says who signed it (give --trust)",
    Verdict.ANCHORS_NOT_CHECKED: "[bold yellow]ATTRIBUTED, ANCHORS NOT CHECKED[/]: signed "
    "by a trusted key and consistent; offline, the roots on chain were not checked "
    "(add --rpc URL)",
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
    help="JSON-RPC URL of the chain (default for a lot: TRACEHUB_CHAIN_RPC_URL, else the "
    "anvil a running `tracehub run` spawned on this site). "
    "For `make demo` it is the hub's /rpc. A bundle is checked offline without it.",
)
@click.option(
    "--trust",
    "trusted",
    multiple=True,
    metavar="SOURCE",
    help="A trust anchor (repeatable): the URL of a site's /.well-known/tracehub.json "
    "(or the site's URL), a local copy of it, a key fingerprint (sha256:…) or key id "
    "(ed25519:…). Signatures by other keys fail. Default for --gtin/--lot: the site's "
    "own keystore and configured contract.",
)
@click.option(
    "--contract",
    metavar="ADDRESS",
    help="Trust only this anchor contract (with --trust; default: the trust document's).",
)
@click.option(
    "--influx",
    "influx_url",
    metavar="URL",
    help="InfluxDB v1 URL to hold the lot's readings against the gateway's sealed "
    "windows (default: TRACEHUB_INFLUX_URL, else the influxd this site's hub spawned; "
    "database TRACEHUB_INFLUX_DATABASE).",
)
@click.option(
    "--report",
    "report_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A temperature report PDF (repeatable): is it one the lot released? (its SHA-256 "
    "against the lot's signed, anchored release records)",
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
    influx_url: str | None = None,
    report_files: tuple[str, ...] = (),
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
    Who signed is judged by trust anchors from outside the bundle (--trust; on
    the site, its keystore): without one, a bundle that checks out is only
    "self-consistent, not attributed". Offline, the anchors are not checked.
    Exit codes: 0 verified, 1 tampered, 3 not yet anchored, 4 chain
    unreachable, 5 other chain (the chain asked is not the one the batches
    were anchored on: reset or replaced), 6 self-consistent but not
    attributed, 7 attributed but anchors not checked (offline), 2 usage problem.
    """
    if contract is not None and not trusted and bundle is not None:
        raise click.UsageError(
            "--contract pins the anchor contract only; give --trust too (who signed)"
        )
    given = combine(trust_source(source) for source in trusted)
    if given is not None and contract is not None:  # only this contract, not the document's
        pinned = contract_from_text(contract)
        given = given.model_copy(
            update={"contracts": pinned.contracts, "sources": (*given.sources, *pinned.sources)}
        )
    files = [(path, Path(path).read_bytes()) for path in report_files]
    if bundle is not None:
        if lot is not None or gtin is not None:
            raise click.UsageError("give either a BUNDLE file or --gtin/--lot, not both")
        chain = None if offline else _chain(rpc_url)
        document = _read_bundle(bundle)
        report = with_claim_checks(document, verify_bundle(document, chain, given), files)
        _finish(report, as_json, {"bundle": bundle})
    if lot is None:
        raise click.UsageError("give a BUNDLE file to check, or --lot (with --gtin) for a lot")
    gtin, lot = lot_from(gtin, lot)
    rpc_url = rpc_url or settings.chain.rpc_url or local_rpc_url(settings)
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
    trust = given if given is not None else _site_trust(settings, contract)
    influx_url = influx_url or settings.influx.url or local_influx_url(settings)
    telemetry = telemetry_reader(influx_url, settings.influx.database)
    try:
        report = verify_lot(
            store, ledger, gtin, lot, None if offline else _chain(rpc_url), trust,
            telemetry=telemetry, claims=page_claims(store, ledger, telemetry), reports=files,
        )  # fmt: skip
    except (TraceabilityError, Gs1Error, LedgerError) as exc:
        raise Problem(str(exc)) from exc
    finally:
        if telemetry is not None:
            telemetry.close()
        ledger.close()
        store.close()
    _finish(report, as_json, {"gtin": gtin, "lot": lot})


def _site_trust(settings: Settings, contract: str | None) -> TrustAnchors | None:
    """On the site: its own keystore's keys and the configured contract, from the local
    configuration rather than the databases (None when this is not the site)."""
    folder = settings.ledger_keys_dir
    if not (folder / "keyring.json").is_file():
        return None  # the report says "not attributed": give --trust
    from tracehub.keys import open_keystore

    try:
        keys = open_keystore(settings).public_keys()
    except LedgerError as exc:
        raise Problem(f"the site's keystore {folder}: {exc}") from exc
    pinned = contract or settings.chain.contract
    source = f"the site's own keystore ({folder})" + (f" and contract {pinned}" if pinned else "")
    return from_keys(keys, source, [(None, pinned)] if pinned else [])


def with_claim_checks(
    bundle: Any, report: Report, files: Sequence[tuple[str, bytes]] = ()
) -> Report:
    """A lot bundle's report with its page claims recomputed from the bundle alone, who
    sent its events (signed capture receipts) and the report ``files`` held against its
    released reports: the ledger's verifier is lot-agnostic; the rest is traceability's."""
    subject = bundle.get("subject") if isinstance(bundle, dict) else None
    if not isinstance(subject, dict) or subject.get("type") != "lot":
        return report
    from traceability.anchoring.claimcheck import claim_checks
    from traceability.anchoring.incidentcheck import incident_checks
    from traceability.anchoring.receipts import lot_source_checks
    from traceability.anchoring.reportcheck import report_file_checks

    extra = (
        *claim_checks(bundle),
        *lot_source_checks(bundle),
        *incident_checks(bundle),
        *report_file_checks(bundle, files),
    )
    return report.model_copy(update={"checks": (*report.checks, *extra)})


def page_claims(store: Any, ledger: Any, telemetry: Any) -> Any:
    """What the lot page would state now, as the page computes it (it always has InfluxDB)."""
    from datetime import UTC, datetime

    from traceability.anchoring.claims import PageClaims
    from traceability.carbon.lotfootprint import LedgerFootprint, RecordsFootprint
    from tracehub.temperatures import lot_exposure

    exposure = None if telemetry is None else lot_exposure(store, telemetry)
    footprint = LedgerFootprint(ledger, RecordsFootprint(store))
    return PageClaims(store, exposure, footprint, datetime.now(UTC))


def telemetry_reader(url: str | None, database: str) -> Any:
    """The InfluxDB reader of the lot's readings (None: the check says it could not run)."""
    if url is None:
        return None
    from traceability.coldchain.telemetry import InfluxTemperatureReader

    return InfluxTemperatureReader(url, database, timeout=30.0)


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
        "trust": "who signed (no trust anchor: give --trust)",
        "contract": "the anchor contract (no trust anchor names it: give --contract)",
        "source": "who sent some events (no signed capture receipt: adopted or older data)",
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
    console.print(
        "trust anchor: " + escape(report.trust or "none (the bundle's own keys)"),
        soft_wrap=True,
        highlight=False,
    )
    console.print(_VERDICTS[report.verdict], highlight=False)
    if failures:
        console.print("failing: " + escape(", ".join(failures)), soft_wrap=True, highlight=False)
