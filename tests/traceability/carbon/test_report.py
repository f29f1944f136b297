"""The report: PACT/iLEAP shape, re-addable breakdown, deterministic canonical bytes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledger.canonical import canonicalize
from ledger.digest import sha256
from ledger.merkle import leaf_hash
from traceability.carbon.calculation import lot_footprint
from traceability.carbon.chain import parse_lot_input
from traceability.carbon.energy import PowerSample, integrate_kwh
from traceability.carbon.factors import load_default_factors
from traceability.carbon.report import (
    BREAKDOWN_SCHEMA,
    ILEAP_SHIPMENT_SCHEMA,
    decimal,
    lot_report,
    report_bytes,
    report_digest,
    report_leaf,
)

DATA = Path(__file__).parents[2] / "data" / "traceability" / "carbon" / "lot_l1.json"
START = datetime(2026, 11, 20, tzinfo=UTC)
CREATED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def build(raw: dict[str, Any] | None = None) -> dict[str, Any]:
    data = parse_lot_input(raw or json.loads(DATA.read_text(encoding="utf-8")))
    samples = [PowerSample(time=START + timedelta(minutes=m), kw=10.0) for m in range(0, 1440, 5)]
    energy = {"stay-wh1-cold1": integrate_kwh(samples, START, START + timedelta(days=1))}
    return lot_report(lot_footprint(data, load_default_factors(), energy), created=CREATED)


def breakdown(report: dict[str, Any]) -> dict[str, Any]:
    [extension] = [e for e in report["extensions"] if e["dataSchema"] == BREAKDOWN_SCHEMA]
    data: dict[str, Any] = extension["data"]
    return data


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0"), (243.328, "243.328"), (0.0405546667, "0.040555"), (12000.0, "12000"), (-0.0, "0")],
)
def test_decimal_strings(value: float, text: str) -> None:
    assert decimal(value) == text


def test_pact_envelope_declares_per_kg() -> None:
    report = build()
    pcf = report["pcf"]
    assert pcf["declaredUnit"] == "kilogram"
    assert pcf["unitaryProductAmount"] == "6000"
    assert pcf["pCfExcludingBiogenic"] == "0.040555"
    assert pcf["packagingEmissionsIncluded"] is True
    # packaging (40.0 kg, the one primary factor) of 243.328 kg
    assert Decimal(pcf["primaryDataShare"]) == Decimal("16.438716")
    assert pcf["referencePeriodStart"] == "2026-11-20T00:00:00+00:00"
    assert "urn:tracehub:lot:04012345111118:L2026-11A" in report["productIds"]


def test_auditor_can_re_add_the_breakdown() -> None:
    data = breakdown(build())
    total = sum(Decimal(item["kgCO2e"]) for item in data["items"])
    assert total == Decimal(data["totalKgCO2e"]) == Decimal("243.328")
    assert data["perUnitKgCO2e"] == "0.243328"
    for item in data["items"]:
        assert item["formula"]
        assert item["factorIds"]
    leg = next(item for item in data["items"] if item["id"] == "leg-1")
    # the shipment's leg × the lot's mass share gives the lot's part
    assert Decimal(leg["inputs"]["shipmentKgCo2e"]) * Decimal(leg["allocationShare"]) == Decimal(
        leg["kgCO2e"]
    )


def test_every_factor_used_is_disclosed_with_origin_and_source() -> None:
    data = breakdown(build())
    used = {fid for item in data["items"] for fid in item["factorIds"]}
    disclosed = {factor["id"]: factor for factor in data["factors"]}
    assert set(disclosed) == used
    assert disclosed["test-packaging-board"]["origin"] == "primary"
    assert disclosed["glec3-road-eu-artic-40t-diesel"]["origin"] == "default"
    for factor in disclosed.values():
        assert factor["source"]
        assert factor["citation"]


def test_ileap_shipment_footprint() -> None:
    [shipment] = [e for e in build()["extensions"] if e["dataSchema"] == ILEAP_SHIPMENT_SCHEMA]
    data = shipment["data"]
    assert (data["shipmentId"], data["mass"], data["co2eWTW"]) == ("S-0001", "12000", "367.2")
    leg, hub = data["tces"]
    assert leg["tceId"] == "S-0001:leg-1"
    assert leg["prevTceIds"] == []
    assert leg["transportActivity"] == "3000"
    assert leg["distance"] == {"value": "250", "unit": "km", "dataSource": "Actual"}
    assert leg["temperatureControl"] == "refrigerated"
    assert leg["co2eWTW"] == "319.2"
    assert hub["prevTceIds"] == ["S-0001:leg-1"]
    assert hub["hocId"] == "glec3-hub-storage-transshipment-mixed"


def test_report_is_deterministic_and_its_digest_is_the_canonical_sha256() -> None:
    first, second = build(), build()
    assert report_bytes(first) == report_bytes(second) == canonicalize(first)
    assert first["id"] == second["id"]
    assert report_digest(first) == "sha256:" + sha256(canonicalize(first)).hex()
    assert len(leaf_hash(report_bytes(first))) == 32


def test_any_change_changes_the_digest() -> None:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    raw["shipments"][0]["legs"][0]["distance_km"] = 251
    assert report_digest(build(raw)) != report_digest(build())


def test_report_leaf_names_the_report_and_its_digest() -> None:
    report = build()
    leaf = report_leaf(report)
    assert leaf == {
        "format": "tracehub.carbon.report/1",
        "reportId": report["id"],
        "gtin": "04012345111118",
        "lot": "L2026-11A",
        "totalKgCO2e": "243.328",
        "digest": report_digest(report),
    }
    assert canonicalize(leaf)  # JSON-ready
