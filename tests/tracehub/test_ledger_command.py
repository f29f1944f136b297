"""``tracehub ledger submit``: a lot's own record becomes a kept, signed leaf of its chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.store.sqlstore import LedgerStore
from tests.support.events import object_event
from traceability.anchoring.feeder import lot_stream
from traceability.anchoring.verification import verify_lot
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from tracehub.cli import main

GTIN = "04012345111118"
REPORT = {"id": "urn:uuid:5", "pcf": {"pCfExcludingBiogenic": "0.81"}, "lot": "L1"}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "TRACEHUB_STATE_DIR": str(tmp_path / "state"),
        "TRACEHUB_LEDGER_KEY_PASSPHRASE": "a long enough test passphrase",
        "TRACEHUB_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
        "COLUMNS": "200",
    }


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


def test_submit_a_carbon_report_then_a_summary(tmp_path: Path, env: dict[str, str]) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(REPORT))
    code, out = _run(env, "ledger", "submit", str(report), "--gtin", GTIN, "--lot", "L1")
    assert code == 0, out
    assert "carbon-report sha256:" in out
    assert f"seq 0 of {lot_stream(GTIN, 'L1')}" in out
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"status": "ok", "mkt_c": 3.2}))
    code, out = _run(
        env, "ledger", "submit", str(summary), "--kind", "lot-exposure",
        "--gtin", "4012345111118", "--lot", "L1", "--id", "exposure-1",
    )  # fmt: skip
    assert code == 0, out
    assert "seq 1 of" in out  # a 13-digit GTIN names the same lot (GTIN-14 in the stream)
    store = LedgerStore.open(env["TRACEHUB_LEDGER_URL"])
    chain = store.stream(lot_stream(GTIN, "L1"))
    assert [e.entry.kind for e in chain] == ["carbon-report", "lot-exposure"]
    assert store.kept_record("carbon-report", chain[0].entry.record_id) == REPORT
    assert store.kept_record("lot-exposure", "exposure-1") == {"status": "ok", "mkt_c": 3.2}
    assert chain[0].entry.signature.key_id == chain[1].entry.signature.key_id  # the site key
    store.close()


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("{not json", (), "is not JSON"),
        ("[1, 2]", (), "must hold one JSON object"),
        ('{"a": 1}', ("--kind", "Carbon Report"), "kind 'Carbon Report' must be lowercase"),
        ('{"a": 1}', ("--gtin", "123"), "GTIN"),
    ],
)
def test_bad_input_is_named(
    tmp_path: Path, env: dict[str, str], content: str, args: tuple[str, ...], message: str
) -> None:
    record = tmp_path / "record.json"
    record.write_text(content)
    base = {"--gtin": GTIN, "--lot": "L1"}
    for flag in args[::2]:
        base.pop(flag, None)
    flat = [part for pair in base.items() for part in pair]
    code, out = _run(env, "ledger", "submit", str(record), *flat, *args)
    assert code == 2, out
    assert message in out


def test_adopt_signs_rows_captured_unsigned_as_a_recorded_act(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """Rows stored before capture signed them fail as "not captured"; `adopt` signs them
    with an `events-adopted` record, and verify says they were adopted, not captured."""
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = RecordStore.open(url)
    store.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    store.add_lot(GTIN, "L1", quantity=2, serials=[1001, 1002])
    capture = CaptureService(store)  # a records-only capture: no receipts
    ids = [
        capture.capture(object_event(serial=s, time=f"2026-11-22T10:0{i}:00Z")).event_id
        for i, s in enumerate(["1001", "1002"])
    ]
    ledger = LedgerStore.open(env["TRACEHUB_LEDGER_URL"])
    where = ("--records", url, "--ledger", env["TRACEHUB_LEDGER_URL"])

    def failed(name: str) -> list[str]:
        report = verify_lot(store, ledger, GTIN, "L1")
        return [c.record_id or c.subject for c in report.failures if c.name == name]

    assert sorted(failed("captured")) == sorted(ids)

    code, out = _run(env, "ledger", "adopt", "--gtin", GTIN, "--lot", "L1", *where)
    assert code == 0, out
    assert "adopted 2 event(s) of lot L1" in out
    chain = ledger.stream(lot_stream(GTIN, "L1"))
    assert [e.entry.kind for e in chain] == ["epcis-event", "epcis-event", "events-adopted"]
    adoption = ledger.kept_record("events-adopted", chain[-1].entry.record_id)
    assert adoption is not None
    assert adoption["count"] == 2
    assert adoption["events"] == ids
    assert failed("captured") == []
    report = verify_lot(store, ledger, GTIN, "L1")
    (adopted,) = [c for c in report.checks if c.name == "adopted"]
    assert "2 event(s) adopted by the site's operator at" in adopted.detail
    assert "not at capture" in adopted.detail

    code, out = _run(env, "ledger", "adopt", "--gtin", GTIN, "--lot", "L1", *where)
    assert code == 0, out
    assert "nothing to adopt" in out
    # A row put in by hand after the adoption is not covered by it.
    late = capture.capture(object_event(serial="1002", time="2026-11-22T11:00:00Z")).event_id
    assert failed("captured") == [late]
    code, out = _run(env, "ledger", "adopt", "--gtin", GTIN, "--lot", "L9", *where)
    assert code == 2, out
    assert "lot L9" in out
    ledger.close()
    store.close()
