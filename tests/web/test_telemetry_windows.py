"""The lot page says which hours of readings the gateway's sealed windows prove.

Real SQLite records and ledger, anchors on the embedded EVM; the windows go in the way
the gateway hands them over (``EvidenceBridge``), with the records the sealer builds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.completeness import KIND, window_record
from ledger.signing import Signer
from ledger.submitter import RecordSubmitter
from tests.support.events import COLD_ROOM, DOCK
from tests.support.webapp import PAGE, SteppedSeries, app_for, ledgered, make_client, text_of
from traceability.records.store import RecordStore
from tracehub.bridges import EvidenceBridge

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

HOUR_NS = 3_600 * 10**9


def seal(bridge: EvidenceBridge, location: str, hour: int) -> None:
    start = int(datetime(2026, 11, 22, hour, tzinfo=UTC).timestamp()) * 10**9
    readings = [
        {"time": str(start + m * 60 * 10**9), "site": "hh", "location": location,
         "seq": m, "celsius": 2.5}
        for m in range(60)
    ]  # fmt: skip
    record = window_record(f"probe-{location[-3:]}", start, start + HOUR_NS, readings)
    bridge.submit(KIND, {**record, "gateway": "gw"})


def page_text(store: RecordStore, evidence: object) -> str:
    series = SteppedSeries({DOCK: [3.0, 2.5], COLD_ROOM: [2.0, 2.2, 2.1]})
    with make_client(app_for(store, series, evidence=evidence)) as client:
        return text_of(client.get(PAGE).text, "telemetry-windows")


def test_the_page_tells_sealed_and_proven_hours_from_open_ones(
    with_events: RecordStore, tmp_path: Path
) -> None:
    setup = ledgered(with_events, tmp_path / "records.db")  # units at DOCK 09–12, COLD_ROOM 10–12
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=1))
    bridge = EvidenceBridge(RecordSubmitter(setup.ledger, signer))
    assert page_text(with_events, setup.evidence) == (
        "Readings sealed and anchored for 0 of 5 h; 0 h sealed but not yet anchored, 5 h not "
        "sealed yet (the current hour stays open until it ends): those are not proven."
    )
    seal(bridge, DOCK, 9)
    seal(bridge, COLD_ROOM, 10)
    assert page_text(with_events, setup.evidence).startswith(
        "Readings sealed and anchored for 0 of 5 h; 2 h sealed but not yet anchored, 3 h"
    )
    setup.anchor()
    assert page_text(with_events, setup.evidence).startswith(
        "Readings sealed and anchored for 2 of 5 h; 0 h sealed but not yet anchored, 3 h"
    )
    for location, hour in ((DOCK, 10), (DOCK, 11), (COLD_ROOM, 11)):
        seal(bridge, location, hour)
    setup.anchor()
    assert page_text(with_events, setup.evidence) == (
        "The gateway sealed every hour of this lot&#39;s readings (5 h) as it received them, and "
        "the seals are anchored on chain; an audit holds the stored readings against them."
    )
