"""What changed since a cache in another process looked (traceability.records.freshness),
on a records file two stores share as two processes would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.events import GTIN, object_event
from traceability.capture import CaptureService
from traceability.records.freshness import Mark
from traceability.records.store import RecordStore


def test_the_lots_of_events_captured_elsewhere_are_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    writer, reader = RecordStore.open(url), RecordStore.open(url)
    writer.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    writer.add_lot(GTIN, "L1", quantity=10, serials=range(1001, 1011))
    before = datetime.now(UTC) - timedelta(seconds=1)
    assert reader.freshness_mark() == Mark(audit=0, steps=0)
    assert reader.lots_captured_since(before, 10) == set()
    CaptureService(writer).capture(object_event(serial="1003"))
    assert reader.lots_captured_since(before, 10) == {(GTIN, "L1")}
    assert reader.lots_captured_since(datetime.now(UTC) + timedelta(seconds=1), 10) == set()
    assert reader.lots_captured_since(before, 0) is None  # over the limit: forget all
    writer.close()
    reader.close()
