"""Import kinds for the carbon footprint: hub activities and the user's primary factors
(CSV or JSON, one error per bad row naming the field, all or nothing), from the library
and from ``tracehub records import``; the records migration on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.support.postgres import PostgreSQL
from traceability.carbon.records import RecordsCarbonSource
from traceability.imports import ImportRejected, import_records
from traceability.records import migrate
from traceability.records.shipments import HubActivity
from traceability.records.store import RecordStore
from tracehub.cli import main

DATA = Path(__file__).parents[2] / "data" / "traceability" / "carbon"
GTIN = "04012345111118"
HUB_HEADER = "shipment_id,id,location,activity,throughput_kg,hub_type,factor_id,start,end"
DC = "urn:epc:id:sgln:4012345.00001.0"
FACTOR_HEADER = (
    "id,kind,mode,vehicle_class,temperature_controlled,region,value,unit,scope,source,"
    "edition,table,citation,notes"
)
CARRIER_ROW = (
    "kuehltrans-artic-40t-reefer,transport,road,artic-40t,yes,,88,g CO2e/t-km,WTW,"
    "Kühl-Trans GmbH fleet data 2025 (test fixture),2025,,carrier letter 2026-01-10,"
)


def _base(store: RecordStore) -> None:
    text = (DATA / "lot_l1_records.json").read_text(encoding="utf-8")
    for kind in ("products", "lots", "shipments", "locations", "shipment_lots", "legs"):
        import_records(store, kind, text, "json")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    opened = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    _base(opened)
    yield opened
    opened.close()


def test_hub_activities_from_csv(store: RecordStore) -> None:
    text = (
        f"{HUB_HEADER}\n"
        f"S-0001,xdock-1,{DC},cross_dock,12000,transshipment-mixed,,"
        "2026-11-20T06:00:00Z,2026-11-20T09:00:00Z\n"
        f"S-0001,store-1,{DC},cold_storage,12000,storage-transshipment-mixed,,,\n"
    )
    assert import_records(store, "hub_activities", text, "csv") == 2
    assert import_records(store, "hub_activities", text, "csv") == 2  # identical: no-op
    found = store.hub_activities_of("S-0001")
    assert {h.id: h.activity for h in found} == {"xdock-1": "cross_dock", "store-1": "cold_storage"}
    xdock = next(h for h in found if h.id == "xdock-1")
    assert xdock.start is not None
    assert xdock.start.isoformat() == "2026-11-20T06:00:00+00:00"
    hubs = RecordsCarbonSource(store).lot_input(GTIN, "L2026-11A").shipments[0].hubs
    assert {(h.id, h.hub_type, h.throughput_kg) for h in hubs} == {
        ("xdock-1", "transshipment-mixed", 12000.0),
        ("store-1", "storage-transshipment-mixed", 12000.0),
    }


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (f"S-0001,h1,{DC},cross_dock,12000,,,,", "hub_type", "give hub_type"),
        (f"S-0001,h1,{DC},cross_dock,,transshipment-mixed,,,", "throughput_kg", ""),
        (f"S-0001,h1,{DC},cross_dock,-5,transshipment-mixed,,,", "throughput_kg", "greater"),
        (f"S-0001,h1,{DC},teleport,1,transshipment-mixed,,,", "activity", "cross_dock"),
        (f"S-0001,h 1,{DC},cross_dock,1,transshipment-mixed,,,", "id", "pattern"),
        (
            f"S-0001,h1,{DC},cross_dock,1,transshipment-mixed,,"
            "2026-11-20T09:00:00Z,2026-11-20T06:00:00Z",
            "end",
            "after start",
        ),
    ],
)
def test_bad_hub_activity_rows_name_the_field(
    store: RecordStore, row: str, field: str, reason: str
) -> None:
    good = f"S-0001,ok-1,{DC},cross_dock,12000,transshipment-mixed,,,"
    with pytest.raises(ImportRejected) as caught:
        import_records(store, "hub_activities", f"{HUB_HEADER}\n{good}\n{row}\n", "csv")
    (error,) = caught.value.errors
    assert (error.row, error.field) == (2, field)
    assert reason in error.reason
    assert store.hub_activities_of("S-0001") == []  # all or nothing: the good row neither


def test_hub_activity_at_an_unknown_place_or_shipment_is_refused(store: RecordStore) -> None:
    for row, named in (
        (f"S-0001,h1,{DC}9,cross_dock,1,transshipment-mixed,,,", "location"),
        (f"S-9999,h1,{DC},cross_dock,1,transshipment-mixed,,,", "shipment_id"),
    ):
        with pytest.raises(ImportRejected) as caught:
            import_records(store, "hub_activities", f"{HUB_HEADER}\n{row}\n", "csv")
        assert f"hub_activity {named}" in str(caught.value)
    assert store.hub_activities_of("S-0001") == []


def test_a_changed_hub_activity_is_a_conflict(store: RecordStore) -> None:
    store.add_hub_activity(
        HubActivity(
            shipment_id="S-0001",
            id="h1",
            location=DC,
            activity="cross_dock",
            throughput_kg=1000,
            hub_type="transshipment-mixed",
        )
    )
    row = f"S-0001,h1,{DC},cross_dock,2000,transshipment-mixed,,,"
    with pytest.raises(ImportRejected, match="exists with other details"):
        import_records(store, "hub_activities", f"{HUB_HEADER}\n{row}\n", "csv")


def test_primary_factors_from_csv_are_primary_and_used(store: RecordStore) -> None:
    # The file says nothing of its origin; whatever it says, these are primary.
    text = f"{FACTOR_HEADER},origin\n{CARRIER_ROW},default\n"
    assert import_records(store, "primary_factors", text, "csv") == 1
    (body,) = store.primary_factors()
    assert body["origin"] == "primary"
    assert body["value"] == 88.0
    assert body["vehicle_class"] == "artic-40t"
    data = RecordsCarbonSource(store).lot_input(GTIN, "L2026-11A")
    assert [(f.id, f.origin) for f in data.factors] == [("kuehltrans-artic-40t-reefer", "primary")]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        (("Kühl-Trans GmbH fleet data 2025 (test fixture)", ""), "source", "required"),
        (("carrier letter 2026-01-10", ""), "citation", "required"),
        (("kuehltrans-artic-40t-reefer", "glec3-road-eu-artic-40t-diesel"), "id", "default"),
        (("g CO2e/t-km", "g CO2e/parsec"), "row", "unit"),
        ((",88,", ",-1,"), "value", ">= 0"),
        ((",transport,", ",teleport,"), "kind", ""),
    ],
)
def test_bad_primary_factor_rows_name_the_field(
    store: RecordStore, change: tuple[str, str], field: str, reason: str
) -> None:
    # After a good row under another id: the file is refused as a whole.
    good = CARRIER_ROW.replace("kuehltrans-artic-40t-reefer", "kuehltrans-other", 1)
    bad = CARRIER_ROW.replace(*change)
    with pytest.raises(ImportRejected) as caught:
        import_records(store, "primary_factors", f"{FACTOR_HEADER}\n{good}\n{bad}\n", "csv")
    (error,) = caught.value.errors
    assert (error.row, error.field) == (2, field)
    assert reason in error.reason
    assert store.primary_factors() == []


def test_records_import_cli_for_both_kinds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    base = RecordStore.open(url)
    _base(base)
    base.close()
    hubs = tmp_path / "hubs.json"
    hubs.write_text(
        json.dumps(
            {
                "hub_activities": [
                    {
                        "shipment_id": "S-0001",
                        "id": "xdock-1",
                        "location": DC,
                        "activity": "cross_dock",
                        "throughput_kg": 12000,
                        "hub_type": "transshipment-mixed",
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    factors = tmp_path / "carrier.csv"
    factors.write_text(f"{FACTOR_HEADER}\n{CARRIER_ROW}\n", encoding="utf-8")
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    for kind, path in (("hub_activities", hubs), ("primary_factors", factors)):
        result = runner.invoke(
            main, ["records", "import", kind, str(path), "--records", url], env=env
        )
        assert result.exit_code == 0, result.output
        assert f"imported 1 {kind}" in result.output
    bad = tmp_path / "bad.csv"
    no_source = CARRIER_ROW.replace("Kühl-Trans GmbH fleet data 2025 (test fixture)", "")
    bad.write_text(f"{FACTOR_HEADER}\n{no_source}\n", encoding="utf-8")
    result = runner.invoke(
        main, ["records", "import", "primary_factors", str(bad), "--records", url], env=env
    )
    assert result.exit_code == 1
    assert "row 1, source: required (every factor names its source" in result.output
    # The report from the records uses both and says which factor was primary.
    result = runner.invoke(
        main,
        ["carbon", "report", "--lot", f"{GTIN}/L2026-11A", "--json"],
        env={**env, "TRACEHUB_RECORDS_URL": url},
    )
    assert result.exit_code == 0, result.output
    breakdown = json.loads(result.output)["extensions"][-1]["data"]
    assert {i["id"] for i in breakdown["items"]} == {"S-0001-1", "xdock-1"}
    origins = {f["id"]: f["origin"] for f in breakdown["factors"]}
    assert origins["glec3-hub-transshipment-mixed"] == "default"


@pytest.mark.integration
def test_migration_0004_on_postgresql(postgres: PostgreSQL) -> None:
    name = f"carbon_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            migrate.upgrade(conn, "0003")
        with engine.begin() as conn:
            migrate.upgrade(conn)
        assert "hub_activities" in sa.inspect(engine).get_table_names()
        engine.dispose()
        store = RecordStore.open(url)
        try:
            _base(store)
            text = f"{HUB_HEADER}\nS-0001,x1,{DC},cross_dock,12000,transshipment-mixed,,,\n"
            assert import_records(store, "hub_activities", text, "csv") == 1
            assert [h.id for h in store.hub_activities_of("S-0001")] == ["x1"]
        finally:
            store.close()
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            migrate.downgrade(conn, "0003")
        assert "hub_activities" not in sa.inspect(engine).get_table_names()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
