"""The records-backed carbon input: the example lot imported as records (locations,
shipment lots, legs, stays, packaging) maps to the same input as its JSON document, and
``tracehub carbon report --lot GTIN/LOT`` works from the records database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from traceability.carbon.chain import parse_lot_input
from traceability.carbon.distance import Coordinates
from traceability.carbon.errors import CarbonInputError
from traceability.carbon.records import RecordsCarbonSource
from traceability.imports import IMPORT_KINDS, ImportRejected, import_records
from traceability.records.store import RecordStore
from tracehub.cli import main
from tracehub.services import InfluxDB

DATA = Path(__file__).parents[2] / "data" / "traceability" / "carbon"
GTIN = "04012345111118"


def _load(
    store: RecordStore,
    drop: dict[str, list[str]] | None = None,
    add: dict[str, dict[str, object]] | None = None,
    drop_kinds: tuple[str, ...] = (),
) -> None:
    document = json.loads((DATA / "lot_l1_records.json").read_text(encoding="utf-8"))
    for kind, fields in (drop or {}).items():
        for row in document[kind]:
            for field in fields:
                row.pop(field, None)
    for kind, values in (add or {}).items():
        for row in document[kind]:
            row.update(values)
    for kind in (k for k in IMPORT_KINDS if k not in drop_kinds):
        import_records(store, kind, json.dumps(document), "json")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    opened = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    yield opened
    opened.close()


def test_records_give_the_json_documents_input(store: RecordStore) -> None:
    _load(store)
    expected = json.loads((DATA / "lot_l1.json").read_text(encoding="utf-8"))
    # The leg id is <shipment>-<seq>; the hub activity and the primary factor were
    # imported as records (kinds hub_activities and primary_factors).
    expected["shipments"][0]["legs"][0]["id"] = "S-0001-1"
    assert RecordsCarbonSource(store).lot_input(GTIN, "L2026-11A") == parse_lot_input(expected)


def test_records_without_hub_activities_have_no_hubs(store: RecordStore) -> None:
    _load(store, drop_kinds=("hub_activities",))
    shipment = RecordsCarbonSource(store).lot_input(GTIN, "L2026-11A").shipments[0]
    assert shipment.hubs == ()
    assert [leg.id for leg in shipment.legs] == ["S-0001-1"]


def test_leg_distance_from_the_locations_coordinates(store: RecordStore) -> None:
    _load(store, drop={"legs": ["distance_km"]}, add={"legs": {"detour_factor": 1.2}})
    leg = RecordsCarbonSource(store).lot_input(GTIN, "L2026-11A").shipments[0].legs[0]
    assert leg.distance_km is None
    assert (leg.origin, leg.destination) == (
        Coordinates(lat=53.55, lon=9.99),
        Coordinates(lat=52.52, lon=13.405),
    )
    assert leg.detour_factor == 1.2


def test_leg_without_distance_or_detour_is_rejected_at_import(store: RecordStore) -> None:
    with pytest.raises(ImportRejected) as caught:
        _load(store, drop={"legs": ["distance_km"]})
    assert caught.value.errors[0].field == "detour_factor"
    assert store.legs_of("S-0001") == []  # nothing of the file was kept


def test_leg_from_a_location_without_coordinates(store: RecordStore) -> None:
    _load(
        store,
        drop={"legs": ["distance_km"], "locations": ["latitude", "longitude"]},
        add={"legs": {"detour_factor": 1.2}},
    )
    with pytest.raises(CarbonInputError) as caught:
        RecordsCarbonSource(store).lot_input(GTIN, "L2026-11A")
    assert caught.value.field == "legs[S-0001-1].origin"


def test_missing_mass_names_the_lot_and_field(store: RecordStore) -> None:
    _load(store, drop={"lots": ["gross_kg"]})
    with pytest.raises(CarbonInputError) as caught:
        RecordsCarbonSource(store).lot_input(GTIN, "L2026-11A")
    assert caught.value.field == "mass_kg"
    assert "has no gross_kg" in str(caught.value)


def test_cold_room_without_site_is_refused(store: RecordStore) -> None:
    _load(store, drop={"locations": ["site"]})
    with pytest.raises(CarbonInputError) as caught:
        RecordsCarbonSource(store).lot_input(GTIN, "L2026-11A")
    assert caught.value.field == "stays[stay-wh1-cold1].location"


def test_unknown_lot(store: RecordStore) -> None:
    with pytest.raises(CarbonInputError, match="not in the records"):
        RecordsCarbonSource(store).lot_input(GTIN, "NOPE")


@pytest.mark.integration
def test_report_from_the_records_database(
    influxdb: InfluxDB, store: RecordStore, tmp_path: Path
) -> None:
    _load(store)
    database = "carbonrec" + uuid.uuid4().hex[:8]
    start = datetime(2026, 11, 20, tzinfo=UTC)
    lines = [
        "coldroom,site=wh1,location=urn:epc:id:sgln:4012345.00002.0,plc=plc-1 compressor_kw=10 "
        f"{int((start + timedelta(minutes=m)).timestamp()) * 1_000_000_000}"
        for m in range(0, 24 * 60, 5)
    ]
    with httpx.Client(timeout=5) as client:
        client.post(f"{influxdb.url}/query", params={"q": f'CREATE DATABASE "{database}"'})
        client.post(f"{influxdb.url}/write", params={"db": database}, content="\n".join(lines))
    result = CliRunner().invoke(
        main,
        [
            "carbon",
            "report",
            "--lot",
            f"{GTIN}/L2026-11A",
            "--influx-url",
            influxdb.url,
            "--database",
            database,
            "--json",
        ],
        env={"TRACEHUB_RECORDS_URL": f"sqlite:///{tmp_path / 'records.db'}"},
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    items = {item["id"] for item in report["extensions"][-1]["data"]["items"]}
    assert {"S-0001-1", "hub-1", "stay-wh1-cold1"} <= items
    factors = {f["id"]: f["origin"] for f in report["extensions"][-1]["data"]["factors"]}
    assert factors["test-packaging-board"] == "primary"
    assert factors["glec3-hub-storage-transshipment-mixed"] == "default"


def test_report_needs_a_lot_or_an_input() -> None:
    result = CliRunner().invoke(main, ["carbon", "report"])
    assert result.exit_code == 2
    assert "--lot GTIN/LOT" in result.output
