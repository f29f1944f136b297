"""Each stay's reading probes carry their calibration in the exposure: a probe overdue
or never calibrated during the stay is flagged (since its due date, or from the stay's
start), a calibrated one is not; the numbers are those of the exposure without it.
Real SQLite records and custody, an in-memory series with named probes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from tests.support.events import COLD_ROOM, DOCK
from tests.support.webapp import NOW, SteppedSeries, add_places, capture_journey
from traceability.calibration.record import Calibration
from traceability.coldchain.exposure import ExposureService
from traceability.coldchain.probes import ProbeSeries, points_series
from traceability.records.store import RecordStore

GTIN = "04012345111118"
DOCK_PROBE, ROOM_PROBE, SPARE = "hh/temperature/dock-1", "hh/temperature/room-1", "hh/t/spare"


class NamedSeries(SteppedSeries):
    """``SteppedSeries`` read by one named probe per place (two in the cold room)."""

    def probes(
        self, location: str, start: datetime, end: datetime, low: float | None,
        high: float | None, max_hold: timedelta,
    ) -> list[ProbeSeries]:  # fmt: skip
        first, step = int(start.timestamp()) * 10**9, 600 * 10**9
        names = [DOCK_PROBE] if location == DOCK else [ROOM_PROBE, SPARE]
        points = [
            (name, first + i * step, c)
            for name in names
            for i, c in enumerate(self.celsius.get(location, []))
        ]
        return points_series(points, start, end, max_hold)


def cal(probe: str, on: date, due: date, number: str) -> Calibration:
    return Calibration(
        probe=probe, calibrated_on=on, due_on=due, lab="Lab Nord",
        certificate_number=number, uncertainty_c=0.15,
    )  # fmt: skip


RECORDS = [
    cal(DOCK_PROBE, date(2026, 1, 5), date(2027, 1, 5), "D-1"),
    cal(ROOM_PROBE, date(2025, 11, 1), date(2026, 11, 1), "R-1"),  # overdue by the journey
]


def test_out_of_calibration_probes_are_flagged_and_the_numbers_stay(stocked: RecordStore) -> None:
    add_places(stocked)
    capture_journey(stocked)
    with_events = stocked
    series = NamedSeries({DOCK: [3.0, 9.0, 3.0], COLD_ROOM: [2.0, 2.2]})
    asked: list[Sequence[str]] = []

    def source(probes: Sequence[str]) -> list[Calibration]:
        asked.append(probes)
        return [r for r in RECORDS if r.probe in probes]

    plain = ExposureService(with_events, series, now=NOW).exposure(GTIN, "L1")
    flagged = ExposureService(with_events, series, now=NOW, calibrations=source).exposure(
        GTIN, "L1"
    )
    assert asked == [sorted([DOCK_PROBE, SPARE, ROOM_PROBE])]
    by_place = {s.location: s.calibration for s in flagged.stay_probes}
    (dock,) = by_place[DOCK]
    assert (dock.device, dock.status, dock.out) == (DOCK_PROBE, "calibrated", False)
    spare, room = by_place[COLD_ROOM]
    assert (room.device, room.status, room.out_since) == (
        ROOM_PROBE, "overdue", datetime(2026, 11, 1, tzinfo=UTC),
    )  # fmt: skip
    assert (spare.device, spare.status) == (SPARE, "unknown")
    # The numbers are the exposure's without calibration.
    stripped = flagged.model_copy(
        update={
            "stay_probes": tuple(
                s.model_copy(update={"calibration": ()}) for s in flagged.stay_probes
            )
        }
    )
    assert stripped == plain
    assert all(s.calibration == () for s in plain.stay_probes)
