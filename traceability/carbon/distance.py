"""Great-circle distance between two coordinates, for legs whose distance is not given.

ISO 14083 and GLEC work on the distance actually (or shortest-feasibly) driven; a
great circle is shorter than any road, rail or sea route, so a leg computed from
coordinates is multiplied by a detour factor that the input must state (and the
report prints). tracehub ships no default detour factor: none was citable from the
reference data, and a silent guess would make the footprint look smaller.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

# IUGG mean Earth radius R1 (Moritz, Geodetic Reference System 1980), in km.
EARTH_RADIUS_KM = 6371.0088


class Coordinates(BaseModel):
    """WGS 84 latitude and longitude in decimal degrees."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


def great_circle_km(a: Coordinates, b: Coordinates) -> float:
    """Haversine distance on a sphere of radius :data:`EARTH_RADIUS_KM`."""
    phi1, phi2 = math.radians(a.lat), math.radians(b.lat)
    dphi = phi2 - phi1
    dlambda = math.radians(b.lon - a.lon)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
