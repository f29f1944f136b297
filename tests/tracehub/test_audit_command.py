"""``tracehub audit``: list (text, JSON, filters), export as CSV, verify (exit 1 naming
the first entry that differs after an SQL edit; entries not yet signed are listed, not
failed) and sign what is left. Real SQLite records and ledger, the site's keystore."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from ledger.errors import StoreUnavailable as LedgerUnavailable
from ledger.store.sqlstore import LedgerStore
from traceability.audit.entry import AuditActor, AuditSubject
from traceability.audit.trail import AuditTrail
from traceability.records.store import RecordStore
from tracehub.cli import main
from tracehub.keys import open_keystore, site_signer
from tracehub.settings import load_settings


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    records = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("TRACEHUB_RECORDS_URL", records)
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    return records


def _invoke(*args: str) -> Result:
    return CliRunner().invoke(main, ["audit", *args], env={"COLUMNS": "200"})


@pytest.fixture
def trail(url: str) -> Any:
    """Three entries by the site's own key, as the commands record them."""
    store, ledger = RecordStore.open(url), LedgerStore.open(url)
    signer = site_signer(open_keystore(load_settings()), load_settings())
    trail = AuditTrail(store, ledger, signer)
    alice, erp = AuditActor(name="alice", kind="cli"), AuditActor(name="erp-1", kind="client")
    product = AuditSubject(kind="product", key="04012345111118")
    trail.record(alice, "master.product.create", product, None, {"name": "Salmon"}, "new")
    trail.record(erp, "client.add", AuditSubject(kind="client", key="wms"), None, {}, None)
    trail.record(
        alice, "master.product.update", product, {"name": "Salmon"}, {"name": "Lachs"}, "de"
    )
    yield trail
    store.close()
    ledger.close()


def test_list_shows_the_latest_first_and_filters(trail: Any) -> None:
    result = _invoke("list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["3", "2", "1"]
    assert "cli:alice  master.product.update  product 04012345111118 — de  [signed]" in lines[0]
    only = _invoke("list", "--actor", "erp-1", "--json")
    assert [json.loads(line)["seq"] for line in only.stdout.splitlines()] == [2]
    assert _invoke("list", "--action", "master", "--limit", "1").stdout.split()[0] == "3"
    assert "no audit entries match" in _invoke("list", "--subject", "nothing").stdout
    since = _invoke("list", "--since", "2999-01-01")
    assert since.exit_code == 0
    assert "no audit entries match" in since.stdout


def test_export_writes_every_entry_as_csv(trail: Any, tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    result = _invoke("export", "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert "exported 3 audit entries" in result.stderr
    rows = _csv(out)
    assert [r["seq"] for r in rows] == ["1", "2", "3"]
    assert rows[2]["before"] == '{"name":"Salmon"}'
    assert rows[2]["prev"] == rows[1]["digest"]
    assert _invoke("export", "--csv", str(out), "--kind", "client").exit_code == 0
    assert len(_csv(out)) == 1


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as text:
        return list(csv.DictReader(text))


def test_verify_passes_an_intact_trail_and_fails_naming_an_edited_entry(
    trail: Any, url: str
) -> None:
    result = _invoke("verify")
    assert result.exit_code == 0, result.output
    assert "3 audit entries: 0 anchored (tamper-evident), 3 signed only" in result.stdout
    assert "0 unsigned (not tamper-evident yet)" in result.stdout
    assert "the trail is intact" in result.stdout
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("""UPDATE audit_entries SET "after" = '{"name": "X"}' WHERE seq = 1""")
        )
    engine.dispose()
    result = _invoke("verify")
    assert result.exit_code == 1
    assert "FAIL audit entry 1 edited: after differs from the signed record" in result.stdout
    assert "first entry that differs: 1" in result.stdout
    report = json.loads(_invoke("verify", "--json").stdout)
    assert report["problems"][0] == {
        "seq": 1,
        "kind": "edited",
        "detail": "after differs from the signed record",
    }


def test_entries_not_yet_signed_are_listed_and_signed_by_sign(
    trail: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise LedgerUnavailable("ledger down (test)")

    with monkeypatch.context() as patched:
        patched.setattr(trail._ledger, "submit_many", down)
        trail.record(
            AuditActor(name="bo", kind="cli"), "a.b", AuditSubject(kind="x", key="y"), 1, 2, None
        )
    result = _invoke("verify")
    assert result.exit_code == 0, result.output  # waiting, not tampered
    assert "1 unsigned (not tamper-evident yet)" in result.stdout
    assert "waiting for the ledger (not tampered): 4" in result.stdout
    assert "[unsigned]" in _invoke("list", "--limit", "1").stdout
    signed = _invoke("sign")
    assert signed.exit_code == 0, signed.output
    assert "signed 1 audit entries" in signed.stdout
    assert "0 unsigned (not tamper-evident yet)" in _invoke("verify").stdout
