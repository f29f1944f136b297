"""``tracehub calibration``: add (the certificate file's SHA-256 recorded), import (a bad
row rejects the file, naming row and field; nothing written), list (history, status,
--due-within), verify (exit 1 naming the field of a row edited after signing). Real
SQLite records and ledger, the site's keystore; every new record an audit entry."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ledger.store.sqlstore import LedgerStore
from traceability.audit.trail import AuditTrail
from traceability.records.store import RecordStore
from tracehub.cli import main
from tracehub.keys import open_keystore, site_signer
from tracehub.settings import load_settings

PROBE = "wh1/temperature/probe-7"


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    records = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("TRACEHUB_RECORDS_URL", records)
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    return records


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["calibration", *args], env={"COLUMNS": "200"})


def _add(
    *extra: str, number: str = "KN-1", on: str = "2026-01-15", due: str = "2027-01-15"
) -> Result:
    return _invoke(
        "add", "--probe", PROBE, "--date", on, "--due", due, "--lab", "Lab Nord",
        "--certificate-number", number, "--uncertainty", "0.15", *extra,
    )  # fmt: skip


def test_add_records_the_certificates_hash_signed_and_audited(url: str, tmp_path: Path) -> None:
    pdf = tmp_path / "KN-1.pdf"
    pdf.write_bytes(b"%PDF-1.7 certificate")
    result = _add("--certificate", str(pdf), "--accuracy-found", "0.05", "--reason", "annual")
    assert result.exit_code == 0, result.output
    assert "recorded and signed, due 2027-01-15" in result.output
    again = _add("--certificate", str(pdf), "--accuracy-found", "0.05")
    assert "already recorded" in again.output
    store, ledger = RecordStore.open(url), LedgerStore.open(url)
    try:
        (found,) = store.calibrations(PROBE)
        assert found.certificate_sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
        assert found.accuracy_found_c == 0.05
        signer = site_signer(open_keystore(load_settings()), load_settings())
        (entry,) = AuditTrail(store, ledger, signer).entries()
        assert (entry.action, entry.reason) == ("master.calibration.create", "annual")
        assert entry.actor.kind == "cli"
    finally:
        store.close()
        ledger.close()


def test_add_refuses_a_due_date_before_the_calibration(url: str) -> None:
    result = _add(due="2025-01-01")
    assert result.exit_code == 2
    assert "due_on: must be after calibrated_on" in result.output


def test_a_bad_row_rejects_the_file_naming_row_and_field(url: str, tmp_path: Path) -> None:
    path = tmp_path / "certs.csv"
    path.write_text(
        "probe,calibrated_on,due_on,lab,certificate_number,uncertainty_c\n"
        f"{PROBE},2026-01-15,2027-01-15,Lab Nord,KN-1,0.15\n"
        "p8,2026-01-15,2027-01-15,Lab Nord,KN-2,lots\n"
    )
    result = _invoke("import", str(path))
    assert result.exit_code == 1
    assert "row 2: uncertainty_c:" in result.output
    assert "no calibration records" in _invoke("list").output


def test_import_then_list_with_status_and_due_within(url: str, tmp_path: Path) -> None:
    today = datetime.now(UTC).date()
    soon = today + timedelta(days=10)
    path = tmp_path / "certs.csv"
    path.write_text(
        "probe,calibrated_on,due_on,lab,certificate_number,uncertainty_c\n"
        f"{PROBE},{today - timedelta(days=800)},{today - timedelta(days=400)},Lab,OLD,0.2\n"
        f"{PROBE},{today - timedelta(days=355)},{soon},Lab,KN-1,0.15\n"
        f"p8,{today - timedelta(days=30)},{today + timedelta(days=335)},Lab,KN-2,0.1\n"
    )
    result = _invoke("import", str(path), "--reason", "lab batch")
    assert result.exit_code == 0, result.output
    assert "imported 3 calibrations" in result.output
    listed = _invoke("list", "--json")
    rows = [json.loads(line) for line in listed.output.splitlines() if line.strip()]
    assert [(r["certificate_number"], r["status"]) for r in rows] == [
        ("KN-2", "calibrated"),
        ("OLD", "superseded"),
        ("KN-1", "calibrated"),
    ]
    due = _invoke("list", "--due-within", "30")
    assert due.exit_code == 0
    assert "KN-1" in due.output
    assert "KN-2" not in due.output
    assert "OLD" not in due.output
    assert "KN-2" in _invoke("list", "--probe", "p8").output


def test_verify_fails_naming_a_row_edited_after_signing(url: str) -> None:
    assert _add().exit_code == 0
    ok = _invoke("verify")
    assert ok.exit_code == 0, ok.output
    assert "PENDING" in ok.output
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE probe_calibrations SET uncertainty_c = 0.05"))
    engine.dispose()
    failed = _invoke("verify")
    assert failed.exit_code == 1
    assert "uncertainty_c: records say 0.05, signed record says 0.15" in failed.output


def test_help_explains_with_an_example() -> None:
    for command in ("add", "import", "list", "verify"):
        result = _invoke(command, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output
