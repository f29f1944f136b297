"""A place as FDA's "location description" (21 CFR 1.1310: business name, phone number,
and physical address or geographic coordinates), from the records' locations (pure).

The records hold a location's name, coordinates and country, never a phone number or a
street address: the description is ``name (urn)``, then the coordinates and country when
held, and ``lacking`` names what FDA asks that the records do not hold, so the row lists
it in ``Missing KDEs`` rather than looking complete.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from traceability.fsma.cte import NO_ADDRESS, NO_PHONE
from traceability.records.locations import Location


class Place(BaseModel):
    """A described place: ``text`` None when no place is named; ``known`` when the
    records describe it (else ``text`` is the bare identifier)."""

    model_config = ConfigDict(frozen=True)

    text: str | None
    known: bool
    lacking: tuple[str, ...] = ()


class Places:
    """Places described from the records' locations (see the module docstring)."""

    def __init__(self, locations: Mapping[str, Location]) -> None:
        self._locations = locations

    def describe(self, urn: str | None) -> Place:
        if not urn:
            return Place(text=None, known=False)
        place = self._locations.get(urn)
        if place is None:
            return Place(text=urn, known=False)
        parts = [f"{place.name} ({urn})"]
        located = place.latitude is not None and place.longitude is not None
        if located:
            parts.append(f"geo {place.latitude},{place.longitude}")
        if place.country:
            parts.append(f"country {place.country}")
        lacking = (NO_PHONE,) if located else (NO_PHONE, NO_ADDRESS)
        return Place(text="; ".join(parts), known=True, lacking=lacking)
