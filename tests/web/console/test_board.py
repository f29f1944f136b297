"""The overview's state, pure parts and the board's rounds: the status of a reading
against a band, the strictest band of the products at a place, the group a place is
shown under, and how often the ports are asked (once a round, sparklines less often)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from tests.support.consolepages import FakeTemperatures
from tests.support.webapp import NOW, SteppedSeries
from traceability.records.entities import Product
from traceability.records.locations import Location
from web.console.board import Board, BoardSettings, band_of, classify, site_of

ROOM = "urn:epc:id:sgln:4012345.00002.0"
SITE = "urn:epc:id:sgln:4012345.00000.0"


@pytest.mark.parametrize(
    ("celsius", "expected"),
    [
        (2.0, ("ok", "low", 2.0)),  # 2.0 from either edge: the lower is named
        (3.6, ("warning", "high", 0.4)),
        (4.0, ("warning", "high", 0.0)),  # on the edge is still inside
        (4.01, ("excursion", "high", 0.01)),
        (0.5, ("warning", "low", 0.5)),
        (-1.25, ("excursion", "low", 1.25)),
    ],
)
def test_a_reading_against_the_band(celsius: float, expected: tuple[str, str, float]) -> None:
    assert classify(celsius, 0.0, 4.0, 0.5) == expected


def test_a_reading_against_half_a_band_or_none() -> None:
    assert classify(-17.0, None, -18.0, 0.5) == ("excursion", "high", 1.0)
    assert classify(9.0, 2.0, None, 0.5) == ("ok", "low", 7.0)
    assert classify(30.0, None, None, 0.5) == ("ok", None, None)


def test_the_strictest_band_of_the_products_there() -> None:
    products = [
        Product(gtin="1", name="a", temp_min_c=0.0, temp_max_c=8.0),
        Product(gtin="2", name="b", temp_min_c=2.0, temp_max_c=25.0),
        Product(gtin="3", name="c"),
    ]
    assert band_of(products) == (2.0, 8.0)
    assert band_of(products[2:]) == (None, None)
    assert band_of([]) == (None, None)


def test_the_group_of_a_place() -> None:
    names = {SITE: "Hamburg cold store"}
    room = Location(urn=ROOM, name="Room", kind="cold_room")
    assert site_of(room.model_copy(update={"site": "hh"}), names) == "hh"
    assert site_of(room.model_copy(update={"parent": SITE}), names) == "Hamburg cold store"
    assert site_of(room.model_copy(update={"parent": "urn:x"}), names) == "urn:x"
    assert site_of(room.model_copy(update={"custodian": "ACME"}), names) == "ACME"
    assert site_of(room, names) == ""


class Places:
    def __init__(self) -> None:
        self.rounds = 0

    def located(self) -> Sequence[Location]:
        self.rounds += 1
        return [
            Location(urn=SITE, name="Hamburg cold store", kind="site"),
            Location(urn=ROOM, name="Room", kind="cold_room", parent=SITE),
        ]

    def products_at(self, urn: str, start: datetime, end: datetime) -> Sequence[Product]:
        return [Product(gtin="1", name="a", temp_min_c=0.0, temp_max_c=4.0)]


def test_a_board_asks_once_a_round_and_for_sparklines_less_often() -> None:
    clock = [100.0]
    places, temperatures = Places(), FakeTemperatures()
    temperatures.set(ROOM, 2.0, NOW - timedelta(minutes=1))
    series = SteppedSeries({ROOM: [2.0, 2.1]})
    board = Board(
        places,
        temperatures,
        series=series,
        settings=BoardSettings(poll_s=5, spark_refresh_s=60),
        now=lambda: NOW,
        monotonic=lambda: clock[0],
    )
    first = asyncio.run(board.snapshot())
    assert [s.name for s in first.sites] == ["Hamburg cold store"]  # the site is no tile
    assert [p.urn for p in first.places] == [ROOM]
    clock[0] += 4.9
    assert asyncio.run(board.snapshot()) is first
    assert (places.rounds, temperatures.calls, series.calls) == (1, 1, 1)
    clock[0] += 0.2
    temperatures.set(ROOM, 4.8, NOW)
    second = asyncio.run(board.snapshot())
    assert second.places[0].status == "excursion"
    assert (places.rounds, temperatures.calls, series.calls) == (2, 2, 1)  # spark kept
    clock[0] += 60
    asyncio.run(board.snapshot())
    assert series.calls == 2
