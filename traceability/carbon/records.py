"""A lot's footprint input read from the records database (``CarbonInputSource``).

Maps the records (``traceability.records``: locations, shipment lots, legs, hub
activities, stays, packaging, primary factors; the lot's units and gross mass) to the
calculation's own models (``carbon.chain``), so ``tracehub carbon report --lot
GTIN/LOT`` needs no JSON file. Nothing is guessed: a lot without a gross mass, a leg
from coordinates without a detour factor, a cold room without a country or telemetry
site is a ``CarbonInputError`` naming the record and the field to fill in.

Leg ids are ``<shipment>-<seq>``; a leg without ``distance_km`` takes its origin and
destination coordinates from its two locations. A shipment's hub activities
(cross-dock, cold storage at a hub without telemetry) keep their own ids.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from traceability.carbon.chain import LotCarbonInput, _input_error
from traceability.carbon.errors import CarbonInputError
from traceability.records.locations import Location
from traceability.records.shipments import HubActivity, Leg
from traceability.records.stays import Stay
from traceability.records.store import RecordStore


class RecordsCarbonSource:
    """``CarbonInputSource`` over a ``RecordStore``."""

    def __init__(self, store: RecordStore) -> None:
        self._store = store

    def lot_input(self, gtin: str, lot: str) -> LotCarbonInput:
        record = self._store.get_lot(gtin, lot)
        if record is None:
            raise CarbonInputError("lot", f"lot {gtin}/{lot} is not in the records; import it")
        if record.gross_kg is None:
            raise CarbonInputError(
                "mass_kg",
                f"lot {record.gtin}/{lot} has no gross_kg; import it with the lot "
                "(allocation is by mass, ISO 14083's default)",
            )
        if not record.quantity:
            raise CarbonInputError(
                "units", f"lot {record.gtin}/{lot} has no quantity; import it with the lot"
            )
        places = {location.urn: location for location in self._store.locations()}
        stays = self._store.stays_of_lot(record.gtin, lot)
        shipments = []
        for shipment_id, items in self._store.shipments_of_lot(record.gtin, lot):
            shipments.append(
                {
                    "id": shipment_id,
                    "lots": [
                        {"gtin": i.gtin, "lot": i.lot, "gross_kg": i.gross_kg, "units": i.units}
                        for i in items
                    ],
                    "legs": [_leg(leg, places) for leg in self._store.legs_of(shipment_id)],
                    "hubs": [_hub(hub) for hub in self._store.hub_activities_of(shipment_id)],
                    "stays": [
                        _stay(stay, places) for stay in stays if stay.shipment_id == shipment_id
                    ],
                }
            )
        data: dict[str, Any] = {
            "gtin": record.gtin,
            "lot": lot,
            "units": record.quantity,
            "mass_kg": record.gross_kg,
            "packaging": [
                {"material": p.material, "mass_kg": p.mass_kg, "factor_id": p.factor_id}
                for p in self._store.packaging_of(record.gtin, lot)
            ],
            "stays": [_stay(stay, places) for stay in stays if stay.shipment_id is None],
            "shipments": shipments,
            "factors": self._store.primary_factors(),
        }
        try:
            return LotCarbonInput.model_validate(data)
        except ValidationError as exc:
            raise _input_error(exc) from exc


def _leg(leg: Leg, places: dict[str, Location]) -> dict[str, Any]:
    name = f"{leg.shipment_id}-{leg.seq}"
    data: dict[str, Any] = {
        "id": name,
        "mode": leg.mode,
        "payload_kg": leg.payload_kg,
        "temperature_controlled": leg.temperature_controlled,
        "vehicle_class": leg.vehicle_class,
        "factor_id": leg.factor_id,
    }
    if leg.distance_km is not None:
        data["distance_km"] = leg.distance_km
        return data
    for key, urn in (("origin", leg.from_location), ("destination", leg.to_location)):
        place = places.get(urn)
        if place is None or place.latitude is None or place.longitude is None:
            raise CarbonInputError(
                f"legs[{name}].{key}",
                f"location {urn} has no coordinates and the leg no distance_km; give one of them",
            )
        data[key] = {"lat": place.latitude, "lon": place.longitude}
    data["detour_factor"] = leg.detour_factor
    return data


def _hub(hub: HubActivity) -> dict[str, Any]:
    # The calculation needs only the tonnes handled and the factor; the activity,
    # place and times stay in the records (custody, audit).
    return {
        "id": hub.id,
        "throughput_kg": hub.throughput_kg,
        "hub_type": hub.hub_type,
        "factor_id": hub.factor_id,
    }


def _stay(stay: Stay, places: dict[str, Location]) -> dict[str, Any]:
    place = places.get(stay.location)
    if place is None or place.country is None or place.site is None:
        raise CarbonInputError(
            f"stays[{stay.id}].location",
            f"location {stay.location} needs a country (grid intensity) and a site "
            "(its cold-room power series); import them with the location",
        )
    data: dict[str, Any] = {
        "id": stay.id,
        "site": place.site,
        "location": stay.location,
        "country": place.country,
        "start": stay.start,
        "end": stay.end,
        "share": {"basis": stay.basis, "part": stay.part, "room": stay.room},
        "grid_factor_id": stay.grid_factor_id,
    }
    if stay.refrigerant is not None:
        data["refrigerant"] = {
            "refrigerant": stay.refrigerant,
            "annual_leakage_kg": stay.annual_leakage_kg,
        }
    return data
