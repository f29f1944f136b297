"""The footprint report: a PACT ProductFootprint with iLEAP ShipmentFootprints, hashed.

Shape (mapping in docs/carbon.md): the PACT envelope declares the lot's footprint
per kilogram; one iLEAP ``ShipmentFootprint`` extension per shipment lists its
transport chain elements (TCEs) with whole-shipment WTW emissions; a tracehub
extension carries the lot's breakdown (every item's inputs, formula, allocation)
and every factor used, marked ``default`` or ``primary``. All numbers are decimal
strings, as PACT/iLEAP require, which also keeps the canonical bytes (RFC 8785)
free of float formatting questions. The report is deterministic: the same input,
factors, energy and ``created`` give the same bytes, so its SHA-256 can be anchored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ledger.canonical import canonicalize
from ledger.digest import sha256
from traceability.carbon.footprint import LineItem, LotFootprint, ShipmentFootprint

REPORT_FORMAT = "tracehub.carbon.report/1"
ILEAP_SHIPMENT_SCHEMA = "https://api.ileap.sine.dev/shipment-footprint.json"
BREAKDOWN_SCHEMA = "urn:tracehub:carbon:lot-breakdown:1"
_NAMESPACE = uuid.UUID("6f1c7a52-3a4e-5b8e-9a41-6b8d2f0c7e11")


def decimal(value: float) -> str:
    """``value`` as a PACT Decimal string (``^-?\\d+(\\.\\d+)?$``), 6 decimals at most."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _item(item: LineItem) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": item.kind,
        "id": item.id,
        "kgCO2e": decimal(item.kg_co2e),
        "formula": item.formula,
        "inputs": {key: _value(value) for key, value in sorted(item.inputs.items())},
        "factorIds": list(item.factor_ids),
    }
    if item.shipment_id is not None:
        body["shipmentId"] = item.shipment_id
    if item.allocation is not None:
        body["allocation"] = item.allocation.value
    if item.allocation_share is not None:
        body["allocationShare"] = decimal(item.allocation_share)
    return body


def _value(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return decimal(float(value))


def _tces(footprint: ShipmentFootprint) -> list[dict[str, Any]]:
    tces: list[dict[str, Any]] = []
    previous: str | None = None
    for item in footprint.items:
        tce_id = f"{footprint.shipment.id}:{item.id}"
        tce: dict[str, Any] = {
            "tceId": tce_id,
            "prevTceIds": [previous] if previous else [],
            "shipmentId": footprint.shipment.id,
            "co2eWTW": decimal(item.kg_co2e),
        }
        if item.kind == "leg":
            inputs = item.inputs
            tce |= {
                "tocId": item.factor_ids[0],
                "mode": inputs["mode"],
                "mass": decimal(inputs["payloadKg"]),
                "distance": {
                    "value": decimal(inputs["distanceKm"]),
                    "unit": "km",
                    "dataSource": "Actual" if inputs["distanceMethod"] == "given" else "GCD",
                },
                "transportActivity": decimal(inputs["transportActivityTkm"]),
                "temperatureControl": "refrigerated"
                if inputs["temperatureControlled"]
                else "ambient",
            }
        else:
            tce |= {"hocId": item.factor_ids[0], "hubActivity": item.kind}
        tces.append(tce)
        previous = tce_id
    return tces


def lot_report(
    footprint: LotFootprint, *, created: datetime, company_name: str = "tracehub"
) -> dict[str, Any]:
    """The lot's report as a JSON-ready dict (see the module docstring)."""
    data = footprint.input
    primary = sum(
        item.kg_co2e
        for item in footprint.items
        if all(
            factor.origin == "primary"
            for factor in footprint.factors
            if factor.id in item.factor_ids
        )
    )
    primary_share = 100.0 * primary / footprint.total_kg_co2e if footprint.total_kg_co2e else 0.0
    times = [stay.start for stay in data.all_stays()] + [stay.end for stay in data.all_stays()]
    breakdown = {
        "format": REPORT_FORMAT,
        "gtin": data.gtin,
        "lot": data.lot,
        "units": data.units,
        "massKg": decimal(data.mass_kg),
        "totalKgCO2e": decimal(footprint.total_kg_co2e),
        "perKgKgCO2e": decimal(footprint.per_kg),
        "perUnitKgCO2e": decimal(footprint.per_unit),
        "scope": "WTW",
        "standard": "ISO 14083:2023; GLEC Framework v3.0",
        "items": [_item(item) for item in footprint.items],
        "allocations": [
            {
                "shipmentId": allocation.shipment_id,
                "method": allocation.method.value,
                "lotKg": decimal(allocation.lot_kg),
                "shipmentKg": decimal(allocation.shipment_kg),
                "share": decimal(allocation.share),
            }
            for allocation in footprint.allocations
        ],
        "factors": [
            {key: _value(value) for key, value in factor.disclosure().items()}
            for factor in footprint.factors
        ],
    }
    extensions: list[dict[str, Any]] = [
        {
            "specVersion": "2.0.0",
            "dataSchema": ILEAP_SHIPMENT_SCHEMA,
            "data": {
                "shipmentId": shipment.shipment.id,
                "mass": decimal(shipment.shipment.mass_kg),
                "co2eWTW": decimal(shipment.total_kg_co2e),
                "tces": _tces(shipment),
            },
        }
        for shipment in footprint.shipments
    ]
    extensions.append({"specVersion": "1.0.0", "dataSchema": BREAKDOWN_SCHEMA, "data": breakdown})
    report: dict[str, Any] = {
        "specVersion": "2.2.0",
        "version": 1,
        "created": created.isoformat().replace("+00:00", "Z"),
        "status": "Active",
        "companyName": company_name,
        "productIds": [f"urn:gtin:{data.gtin}", f"urn:tracehub:lot:{data.gtin}:{data.lot}"],
        "productNameCompany": f"lot {data.lot} of GTIN {data.gtin}",
        "productDescription": "Logistics footprint of one lot (transport, hubs, cold "
        "storage from telemetry, packaging), ISO 14083 WTW",
        "comment": "Every item, input and factor is in the tracehub breakdown extension.",
        "pcf": {
            "declaredUnit": "kilogram",
            "unitaryProductAmount": decimal(data.mass_kg),
            "pCfExcludingBiogenic": decimal(footprint.per_kg),
            "fossilGhgEmissions": decimal(footprint.per_kg),
            "characterizationFactors": "AR6",
            "crossSectoralStandardsUsed": ["ISO Standard 14083"],
            "boundaryProcessesDescription": "Transport legs and hub handling (WTW), cold-room "
            "electricity and refrigerant leakage, and unit packaging; production excluded.",
            "referencePeriodStart": min(times).isoformat() if times else None,
            "referencePeriodEnd": max(times).isoformat() if times else None,
            "packagingEmissionsIncluded": bool(data.packaging),
            "primaryDataShare": decimal(primary_share),
            "exemptedEmissionsPercent": "0",
        },
        "extensions": extensions,
    }
    # A content-derived id: the same report always gets the same id (and bytes).
    report["id"] = str(uuid.uuid5(_NAMESPACE, sha256(canonicalize(report)).hex()))
    return report


def report_bytes(report: dict[str, Any]) -> bytes:
    """The report's RFC 8785 canonical bytes: what the ledger takes as leaf data."""
    return canonicalize(report)


def report_digest(report: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical bytes."""
    return "sha256:" + sha256(report_bytes(report)).hex()


def report_leaf(report: dict[str, Any]) -> dict[str, Any]:
    """A small record naming the report and its digest, for the ledger to anchor.

    Anchor ``report_bytes(report)`` as the leaf data (``leaf_hash`` of it); store this
    record next to the lot so a verifier can fetch the report and recompute the digest.
    """
    breakdown = report["extensions"][-1]["data"]
    return {
        "format": REPORT_FORMAT,
        "reportId": report["id"],
        "gtin": breakdown["gtin"],
        "lot": breakdown["lot"],
        "totalKgCO2e": breakdown["totalKgCO2e"],
        "digest": report_digest(report),
    }
