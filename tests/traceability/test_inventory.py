"""Cycle-count reconciliation against custody records."""

from __future__ import annotations

from tests.support.events import COLD_ROOM, DOCK, object_event
from traceability.capture import CaptureService
from traceability.inventory import reconcile
from traceability.records.store import RecordStore


def unit(serial: int) -> str:
    return f"urn:epc:id:sgtin:4012345.011111.{serial}"


def test_missing_unexpected_misplaced(stocked: RecordStore) -> None:
    capture = CaptureService(stocked)
    for serial in (1001, 1002, 1003):
        capture.capture(object_event(serial=str(serial), read_point=COLD_ROOM))
    capture.capture(object_event(serial="1004", read_point=DOCK))
    seen = [unit(1001), unit(1002), unit(1004), "urn:epc:id:sgtin:4012345.011111.9999"]
    report = reconcile(stocked, COLD_ROOM, seen)
    assert report.expected == 3
    assert report.missing == (unit(1003),)
    assert report.misplaced == ((unit(1004), DOCK),)
    assert report.unexpected == ("urn:epc:id:sgtin:4012345.011111.9999",)
    assert not report.ok
    assert reconcile(stocked, COLD_ROOM, [unit(1001), unit(1002), unit(1003)]).ok
