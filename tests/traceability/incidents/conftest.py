"""Incidents over real SQLite records and ledger: lots L1 and L2 arrive in the cold room
at 10:00 (signed capture), an alarm there at 10:30 finds both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.events import COLD_ROOM, GTIN, object_event
from traceability.alarms.model import Alarm, alarm_id
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.incidents.notice import Notice
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore

SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
NOW = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 3, hour, minute, tzinfo=UTC)


class RecordingNotifier:
    """Every call the service makes, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def opened(self, notice: Notice) -> None:
        self.calls.append(("opened", notice))

    def acknowledged(self, incident_id: str, by: str, at: datetime) -> None:
        self.calls.append(("acknowledged", (incident_id, by, at)))

    def closed(self, incident_id: str, at: datetime) -> None:
        self.calls.append(("closed", (incident_id, at)))


def make_alarm(start: datetime | None = None, rule: str = "cold-room-high", **extra: Any) -> Alarm:
    started = start or at(10, 30)
    fields: dict[str, Any] = {
        "id": alarm_id(rule, COLD_ROOM, "demo-probe-1", started),
        "rule": rule,
        "kind": "temperature_high",
        "severity": "critical",
        "site": "demo",
        "location": COLD_ROOM,
        "place_name": "Cold room 1",
        "device": "demo-probe-1",
        "started_at": started,
        "raised_at": started.replace(minute=started.minute + 14),
        "peak_c": 9.4,
        "threshold_c": 8.0,
        "summary": "Cold room 1: 9.4 °C, above 8.0 °C for 14 min (probe demo-probe-1)",
    }
    fields.update(extra)
    return Alarm(**fields)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerStore]:
    opened = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield opened
    opened.close()


@pytest.fixture
def capture(stocked: RecordStore, ledger: LedgerStore) -> CaptureService:
    stocked.add_lot(GTIN, "L2", quantity=2, serials=range(2001, 2003))
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, SIGNER))
    for serial in ("1001", "2001"):
        capture.capture(
            object_event(serial=serial, time="2026-12-03T10:00:00Z", read_point=COLD_ROOM),
            source="erp-1",
        )
    return capture


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def service(
    stocked: RecordStore, ledger: LedgerStore, capture: CaptureService, notifier: RecordingNotifier
) -> IncidentService:
    return IncidentService(
        stocked,
        ledger,
        SIGNER,
        notifier=notifier,
        dispositions=capture,
        clock=lambda: NOW,
        url="https://hub.example",
    )
