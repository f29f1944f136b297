"""``tracehub calibration``: probe calibration records (issue #20).

``add`` records one certificate, ``import`` a CSV of them (any bad row rejects the
file), ``list`` shows each probe's history or only what is due, ``verify`` holds every
row against the record the site signed. Each new record is signed by the site into the
ledger and is an audit entry by ``cli:<OS user>`` for ``--reason``
(``traceability.masterdata.calibration``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from traceability.calibration.csvfile import calibration_of, parse_calibrations
from traceability.calibration.errors import CalibrationRejected
from traceability.calibration.record import Calibration
from traceability.calibration.status import due_within, status_at
from traceability.errors import TraceabilityError
from traceability.masterdata.calibration import ProbeCalibrations
from traceability.records.store import RecordStore
from tracehub.auditing import cli_author, reason_option, trail_over
from tracehub.commands.records import open_records, records_option
from tracehub.commands.writers import site_ledger_of
from tracehub.console import Problem, console
from tracehub.settings import Settings

_CSV_HELP = """\b
FILE.csv: UTF-8, a header row, columns in any order:
  probe, calibrated_on, due_on (YYYY-MM-DD), lab, certificate_number,
  uncertainty_c (required); coverage_k (default 2), accuracy_found_c,
  certificate_sha256 (optional, blank allowed).
Example:
  probe,calibrated_on,due_on,lab,certificate_number,uncertainty_c
  wh1/temperature/probe-7,2026-01-15,2027-01-15,Lab Nord,KN-2026-0113,0.15
"""


@contextmanager
def calibration_writer(
    settings: Settings, store: RecordStore, records: str | None, reason: str | None
) -> Iterator[ProbeCalibrations]:
    """The site's calibration writer: each new record signed by the site and an audit
    entry by ``cli:<OS user>`` for ``reason``."""
    with site_ledger_of(settings, records) as (ledger, signer):
        audit = trail_over(settings, store, ledger)
        yield ProbeCalibrations(store, ledger, signer, audit=audit, author=cli_author(reason))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a certificate file, lowercase hex (read in chunks: a scan is large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write(settings: Settings, records: str | None, reason: str, found: list[Calibration]) -> int:
    with open_records(settings, records) as store:
        try:
            with calibration_writer(settings, store, records, reason) as writer:
                return len(writer.add(found))
        except TraceabilityError as exc:
            raise Problem(str(exc)) from exc


@click.group()
def calibration() -> None:
    """Probe calibration records: which probe was calibrated when, by which lab, with
    which certificate and uncertainty, and when it is due again (EU GDP, WHO TRS 961
    Annex 9). Readings of a probe out of calibration are flagged on the lot's exposure
    and page; the hub raises a calibration_due alarm 30 days before a due date."""


@calibration.command("add")
@click.option("--probe", required=True, help="The probe's device id, as its readings name it.")
@click.option(
    "--date",
    "calibrated_on",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="Calibration date (YYYY-MM-DD).",
)
@click.option(
    "--due",
    required=True,
    type=click.DateTime(["%Y-%m-%d"]),
    help="Next calibration due (YYYY-MM-DD).",
)
@click.option("--lab", required=True, help="The calibration laboratory.")
@click.option("--certificate-number", required=True, help="The certificate's number.")
@click.option(
    "--uncertainty",
    required=True,
    type=float,
    help="Expanded measurement uncertainty in °C (at --coverage-k).",
)
@click.option(
    "--coverage-k",
    default=2.0,
    show_default=True,
    type=float,
    help="Coverage factor of the uncertainty.",
)
@click.option("--accuracy-found", type=float, help="Error the lab found, °C (optional).")
@click.option(
    "--certificate",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The certificate file (PDF): its SHA-256 is recorded, not the file.",
)
@reason_option
@records_option
@click.pass_obj
def add_cmd(
    settings: Settings, probe: str, calibrated_on: datetime, due: datetime, lab: str,
    certificate_number: str, uncertainty: float, coverage_k: float,
    accuracy_found: float | None, certificate: Path | None, reason: str | None,
    records: str | None,
) -> None:  # fmt: skip
    """Record one calibration certificate of a probe, signed and audited.

    \b
    Example:
      tracehub calibration add --probe wh1/temperature/probe-7 --date 2026-01-15 \\
        --due 2027-01-15 --lab "Lab Nord" --certificate-number KN-2026-0113 \\
        --uncertainty 0.15 --certificate KN-2026-0113.pdf --reason "annual calibration"
    """
    raw = {
        "probe": probe, "calibrated_on": calibrated_on.date().isoformat(),
        "due_on": due.date().isoformat(), "lab": lab, "certificate_number": certificate_number,
        "uncertainty_c": str(uncertainty), "coverage_k": str(coverage_k),
        "accuracy_found_c": "" if accuracy_found is None else str(accuracy_found),
        "certificate_sha256": file_sha256(certificate) if certificate else "",
    }  # fmt: skip
    try:
        found = calibration_of(raw, "calibration")
    except CalibrationRejected as exc:
        raise Problem(str(exc)) from exc
    added = _write(settings, records, reason or f"calibration {certificate_number}", [found])
    what = "recorded and signed" if added else "already recorded (nothing changed)"
    console.print(f"probe {probe} certificate {certificate_number}: {what}, due {found.due_on}")


@calibration.command("import", epilog=_CSV_HELP)
@click.argument(
    "path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@reason_option
@records_option
@click.pass_obj
def import_cmd(settings: Settings, path: Path, reason: str | None, records: str | None) -> None:
    """Import calibration certificates from a CSV file; a bad row rejects the whole file
    (naming its row and field) and nothing is written.

    \b
    Example:
      tracehub calibration import certificates-2026.csv --reason "lab batch 2026-01"
    """
    try:
        found = parse_calibrations(path.read_text(encoding="utf-8-sig"))
    except (CalibrationRejected, UnicodeDecodeError) as exc:
        console.print(f"[red]{path.name}[/red] {exc}")
        raise SystemExit(1) from exc
    added = _write(settings, records, reason or f"import of {path.name}", found)
    console.print(f"imported {len(found)} calibrations from {path} ({added} new, signed)")


@calibration.command("list")
@click.option("--probe", help="Only this probe's history.")
@click.option(
    "--due-within",
    "due_within_days",
    type=click.IntRange(min=0),
    metavar="DAYS",
    help="Only probes whose current calibration is due within DAYS (overdue too).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
@records_option
@click.pass_obj
def list_cmd(
    settings: Settings, probe: str | None, due_within_days: int | None, as_json: bool,
    records: str | None,
) -> None:  # fmt: skip
    """List calibration records with each probe's status today.

    \b
    Examples:
      tracehub calibration list --probe wh1/temperature/probe-7
      tracehub calibration list --due-within 30
    """
    now = datetime.now(UTC)
    with open_records(settings, records) as store:
        found = store.calibrations(probe)
    if due_within_days is not None:
        found = due_within(found, now, timedelta(days=due_within_days))
    for record in found:
        status = status_at(record.probe, found, now)
        current = status.record == record
        state = status.status if current else "superseded"
        if as_json:
            click.echo(json.dumps({**record.record(), "status": state}))
            continue
        console.print(
            f"{record.probe}  {record.calibrated_on} → {record.due_on}  {state:<10}  "
            f"{record.certificate_number}  ±{record.uncertainty_c:g} °C (k={record.coverage_k:g})"
            f"  {record.lab}",
            highlight=False,
        )
    if not found and not as_json:
        console.print("no calibration records" + (" due" if due_within_days is not None else ""))


@calibration.command("verify")
@records_option
@click.pass_obj
def verify_cmd(settings: Settings, records: str | None) -> None:
    """Hold every calibration row against the record the site signed: a row edited in
    the database, written around tracehub or deleted FAILS (exit 1).

    \b
    Example:
      tracehub calibration verify
    """
    with (
        open_records(settings, records) as store,
        site_ledger_of(settings, records) as (
            ledger,
            signer,
        ),
    ):
        checks = ProbeCalibrations(store, ledger, signer).checks()
    for check in checks:
        colour = {"ok": "green", "pending": "yellow"}.get(check.outcome.value, "red")
        console.print(
            f"[{colour}]{check.outcome.value.upper():<8}[/{colour}] "
            f"{check.subject}: {check.detail}",
            highlight=False,
        )
    if not checks:
        console.print("no calibration records")
    if any(c.outcome.value == "fail" for c in checks):
        raise SystemExit(1)
