"""Fixtures of the page tests: the stocked lot with its places and journey, and a test
client of the app over it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.events import COLD_ROOM, DOCK
from tests.support.webapp import SteppedSeries, add_places, app_for, capture_journey, make_client
from traceability.records.store import RecordStore

if TYPE_CHECKING:
    from starlette.testclient import TestClient


@pytest.fixture
def with_events(stocked: RecordStore) -> RecordStore:
    add_places(stocked)
    capture_journey(stocked)
    return stocked


@pytest.fixture
def client(with_events: RecordStore) -> Iterator[TestClient]:
    series = SteppedSeries({DOCK: [3.0, 2.5], COLD_ROOM: [2.0, 2.2, 2.1]})
    with make_client(app_for(with_events, series)) as test_client:
        yield test_client
