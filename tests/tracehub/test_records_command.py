"""`tracehub records exposure --anchor`: the summary becomes a leaf of the lot's chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from ledger.store.sqlstore import LedgerStore
from traceability.anchoring.feeder import LOT_EXPOSURE_KIND, lot_stream
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from tracehub import demo
from tracehub.cli import main
from tracehub.services import InfluxDB

pytestmark = pytest.mark.integration


def test_exposure_summary_is_submitted_to_the_lots_chain(
    tmp_path: Path, influxdb: InfluxDB
) -> None:
    records_url = f"sqlite:///{tmp_path / 'records.db'}"
    arrived = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    store = RecordStore.open(records_url)
    demo.seed(store)
    CaptureService(store).capture(
        {
            "type": "ObjectEvent",
            "eventTime": arrived.isoformat().replace("+00:00", "Z"),
            "eventTimeZoneOffset": "+00:00",
            "epcList": [demo.unit_urn(1001)],
            "action": "OBSERVE",
            "bizStep": "receiving",
            "disposition": "in_progress",
            "readPoint": {"id": demo.DOCK_DOOR},
        }
    )
    store.close()
    database = "records_cmd"
    start_ns = int(arrived.timestamp()) * 10**9
    lines = "\n".join(
        f"temperature,site=demo,location={demo.DOCK_DOOR},device=p celsius={4 + i % 3}"
        f" {start_ns + i * 60 * 10**9}"
        for i in range(90)
    )
    httpx.post(
        f"{influxdb.url}/query", data={"q": f"CREATE DATABASE {database}"}
    ).raise_for_status()
    httpx.post(f"{influxdb.url}/write", params={"db": database}, content=lines).raise_for_status()

    result = CliRunner().invoke(
        main,
        ["records", "exposure", "--gtin", demo.GTIN, "--lot", demo.LOT, "--anchor"],
        env={
            "TRACEHUB_STATE_DIR": str(tmp_path / "state"),
            "TRACEHUB_RECORDS_URL": records_url,
            "TRACEHUB_INFLUX_URL": influxdb.url,
            "TRACEHUB_INFLUX_DATABASE": database,
        },
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["min_c"] == 4.0
    assert summary["max_c"] == 6.0

    ledger = LedgerStore.open(records_url)
    chain = ledger.stream(lot_stream(demo.GTIN, demo.LOT))
    assert [stored.entry.kind for stored in chain] == [LOT_EXPOSURE_KIND]
    kept = ledger.kept_record(LOT_EXPOSURE_KIND, chain[0].entry.record_id)
    ledger.close()
    assert kept == summary


def test_import_signs_master_data_and_refuses_a_serial_of_another_lot(tmp_path: Path) -> None:
    from traceability.masterdata.history import history_from_ledger
    from traceability.masterdata.versions import lot_master_stream, product_stream

    url = f"sqlite:///{tmp_path / 'records.db'}"
    env = {"TRACEHUB_STATE_DIR": str(tmp_path / "state")}
    (tmp_path / "p.csv").write_text(f"gtin,name,temp_min_c,temp_max_c\n{demo.GTIN},Vaccine,2,8\n")
    (tmp_path / "l.csv").write_text(f"gtin,lot,serials\n{demo.GTIN},L1,1-3\n")
    (tmp_path / "clash.csv").write_text(f"gtin,lot,serials\n{demo.GTIN},L2,3-4\n")
    runner = CliRunner()
    for kind, name in (("products", "p.csv"), ("lots", "l.csv")):
        result = runner.invoke(
            main, ["records", "import", kind, str(tmp_path / name), "--records", url], env=env
        )
        assert result.exit_code == 0, result.output
    clash = runner.invoke(
        main, ["records", "import", "lots", str(tmp_path / "clash.csv"), "--records", url], env=env
    )
    assert clash.exit_code == 1
    assert "row 1, serials: serial 3 of 04012345111118 already belongs to lot L1" in " ".join(
        clash.output.split()
    )
    ledger = LedgerStore.open(url)  # the records database, as the hub's default
    try:
        product = history_from_ledger(ledger, product_stream(demo.GTIN)).latest
        lot = history_from_ledger(ledger, lot_master_stream(demo.GTIN, "L1")).latest
        assert product is not None
        assert product.version.facts.fields["temp_max_c"] == 8
        assert lot is not None
        assert lot.version.facts.fields["serials"] == "1-3"
        assert ledger.stream(lot_master_stream(demo.GTIN, "L2")) == []
    finally:
        ledger.close()
