"""``tracehub records``: import, capture, trace, inventory through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gs1.epcis.event import epcis_document
from tests.support.events import COLD_ROOM, object_event
from tracehub.cli import main


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRACEHUB_RECORDS_URL", f"sqlite:///{tmp_path / 'r.db'}")
    # Imports of master data sign it with the site key, kept under the state folder.
    monkeypatch.setenv("TRACEHUB_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def test_import_capture_trace_inventory(env: Path) -> None:
    runner = CliRunner()
    (env / "p.csv").write_text("gtin,name,temp_min_c,temp_max_c\n4012345111118,Salmon,0,4\n")
    (env / "l.json").write_text(
        json.dumps([{"gtin": "4012345111118", "lot": "L1", "serials": "1001-1002"}])
    )
    from datetime import UTC, datetime

    doc = epcis_document([object_event(read_point=COLD_ROOM)], datetime(2026, 1, 1, tzinfo=UTC))
    (env / "d.json").write_text(json.dumps(doc))
    (env / "seen.txt").write_text("urn:epc:id:sgtin:4012345.011111.1001\n")
    for args in (
        ["records", "import", "products", str(env / "p.csv")],
        ["records", "import", "lots", str(env / "l.json")],
        ["records", "capture", str(env / "d.json")],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    # the CLI signs what it captures: verify sees the hub's capture receipt for the event
    report = runner.invoke(
        main, ["verify", "--gtin", "4012345111118", "--lot", "L1", "--offline", "--json"]
    )
    checks = json.loads(report.output)["checks"]
    signed = [c for c in checks if c["name"] == "record" and "epcis" in c["subject"]]
    assert signed, report.output
    assert all(c["ok"] for c in signed), report.output
    assert not [c for c in checks if c["name"] == "captured"], report.output  # only fails
    import getpass

    (source,) = [c for c in checks if c["name"] == "source"]  # the receipt names the user
    assert source["detail"].startswith(f"captured by cli:{getpass.getuser()}: 1 event")
    trace = runner.invoke(main, ["records", "trace", "--gtin", "4012345111118", "--lot", "L1"])
    assert "urn:epc:id:sgtin:4012345.011111.1001  →  " + COLD_ROOM in trace.output
    inventory = runner.invoke(
        main, ["records", "inventory", "--location", COLD_ROOM, str(env / "seen.txt")]
    )
    assert inventory.exit_code == 0, inventory.output


def test_bad_import_exits_1_naming_row_and_field(env: Path) -> None:
    (env / "p.csv").write_text("gtin,name\n4012345111119,Salmon\n")
    result = CliRunner().invoke(main, ["records", "import", "products", str(env / "p.csv")])
    assert result.exit_code == 1
    assert "row 1, gtin: check digit should be 8" in result.output


def test_import_locations_csv_and_list_expiring_lots(env: Path) -> None:
    from datetime import UTC, datetime, timedelta

    runner = CliRunner()
    soon = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    later = (datetime.now(UTC).date() + timedelta(days=60)).isoformat()
    (env / "p.csv").write_text("gtin,name\n4012345111118,Salmon\n")
    (env / "l.csv").write_text(
        f"gtin,lot,expiry\n4012345111118,SOON,{soon}\n4012345111118,LATER,{later}\n"
    )
    (env / "loc.csv").write_text(
        "urn,name,kind,custodian,latitude,longitude,country,site\n"
        f"{COLD_ROOM},Cold room 1,cold_room,urn:epc:id:pgln:4012345.00000,53.5,9.9,DE,wh1\n"
    )
    for kind, name in (("products", "p.csv"), ("lots", "l.csv"), ("locations", "loc.csv")):
        result = runner.invoke(main, ["records", "import", kind, str(env / name)])
        assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["records", "expiring", "--days", "7"])
    assert result.exit_code == 0, result.output
    assert "lot SOON expires in 3 day(s)" in result.output
    assert "LATER" not in result.output
    assert "1 lot(s) expired or expiring within 7 day(s)" in result.output


def test_product_add_and_update_with_a_stability_budget(env: Path) -> None:
    runner = CliRunner()
    add = ["records", "product", "add", "--gtin", "4012345111118", "--name", "Insulin"]
    result = runner.invoke(
        main, [*add, "--temp-min", "2", "--temp-max", "8", "--stability-budget", "above:25:60"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["stability_budget"] == "above:25:60"
    update = ["records", "product", "update", "--gtin", "4012345111118"]
    result = runner.invoke(main, [*update, "--stability-budget", "below:0:30;above:25:45"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert (shown["stability_budget"], shown["temp_max_c"]) == ("above:25:45;below:0:30", 8.0)
    bad = runner.invoke(main, [*update, "--stability-budget", "above:25"])
    assert bad.exit_code == 2
    assert "step 1 'above:25': write side:limit_c:minutes" in bad.output
    inside = runner.invoke(main, [*update, "--stability-budget", "above:7:10"])
    assert inside.exit_code == 2  # a Problem: nothing written, nothing signed
    assert "above step 7 °C is not above temp_max_c 8" in inside.output
    # The signed versions hold each change: verify finds the product proven or pending.
    from ledger.store.sqlstore import LedgerStore
    from traceability.masterdata.history import history_from_ledger
    from traceability.masterdata.versions import product_stream

    ledger = LedgerStore.open(f"sqlite:///{env / 'r.db'}")
    try:
        versions = history_from_ledger(ledger, product_stream("04012345111118")).versions
    finally:
        ledger.close()
    assert [v.version.facts.fields["stability_budget"] for v in versions] == [
        [{"side": "above", "limit_c": 25, "minutes": 60}],
        [
            {"side": "above", "limit_c": 25, "minutes": 45},
            {"side": "below", "limit_c": 0, "minutes": 30},
        ],
    ]


def test_import_warns_of_an_expiry_beyond_the_shelf_life(env: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main,
        ["records", "product", "add", "--gtin", "4012345111118", "--name", "Salmon",
         "--shelf-life-days", "12"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (env / "l.csv").write_text(
        "gtin,lot,production_date,expiry\n4012345111118,LONG,2026-11-01,2026-12-01\n"
    )
    result = runner.invoke(main, ["records", "import", "lots", str(env / "l.csv")])
    assert result.exit_code == 0, result.output
    assert "l.csv warning: lot LONG of 04012345111118: expiry 2026-12-01 is later" in " ".join(
        result.output.split()
    )


def test_capture_reads_an_xml_document_and_prints_its_warnings(env: Path) -> None:
    """GS1's XML example with an extension is captured as its JSON-LD form would be; the
    unknown place and unregistered units are warnings, never refusals."""
    example = Path(__file__).parent.parent / "data" / "gs1" / "epcis-examples" / "xml"
    source = example / "WithExtension" / "ObjectEvent.xml"
    runner = CliRunner()
    first = runner.invoke(main, ["records", "capture", str(source)])
    assert first.exit_code == 0, first.output
    assert "captured 2 events (2 new)" in first.output
    assert "not a registered" in first.output  # the warnings are shown
    again = runner.invoke(main, ["records", "capture", str(source)])
    assert "captured 2 events (0 new)" in again.output
    (env / "broken.xml").write_text("<EPCISDocument")
    broken = runner.invoke(main, ["records", "capture", str(env / "broken.xml")])
    assert broken.exit_code != 0
    assert "broken.xml" in broken.output
