"""Great-circle distance, checked against hand-computed arcs."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from traceability.carbon.distance import EARTH_RADIUS_KM, Coordinates, great_circle_km


def test_one_degree_along_the_equator() -> None:
    # R × π/180 = 6371.0088 × 0.017453293 = 111.19508 km
    d = great_circle_km(Coordinates(lat=0, lon=0), Coordinates(lat=0, lon=1))
    assert d == pytest.approx(111.19508, abs=1e-5)


def test_quarter_meridian_and_antipodes() -> None:
    pole = great_circle_km(Coordinates(lat=0, lon=0), Coordinates(lat=90, lon=0))
    assert pole == pytest.approx(EARTH_RADIUS_KM * math.pi / 2)
    antipode = great_circle_km(Coordinates(lat=0, lon=0), Coordinates(lat=0, lon=180))
    assert antipode == pytest.approx(EARTH_RADIUS_KM * math.pi)


def test_hamburg_to_berlin() -> None:
    # Hamburg Hbf (53.5530, 10.0069) to Berlin Hbf (52.5251, 13.3694): ~255 km as the crow flies.
    d = great_circle_km(
        Coordinates(lat=53.5530, lon=10.0069), Coordinates(lat=52.5251, lon=13.3694)
    )
    assert 250 < d < 260


@pytest.mark.parametrize(("lat", "lon", "field"), [(91, 0, "lat"), (0, -181, "lon")])
def test_out_of_range_coordinates_are_rejected(lat: float, lon: float, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Coordinates(lat=lat, lon=lon)
    assert caught.value.errors()[0]["loc"] == (field,)
