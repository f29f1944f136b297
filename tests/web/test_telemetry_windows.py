"""The lot page says which hours of readings the gateway's sealed windows prove.

Real SQLite records and ledger, anchors on the embedded EVM; the windows go in the way
the gateway hands them over (``EvidenceBridge``), with the records the sealer builds.
The drift tests add the real InfluxDB (session fixture): the page holds the seals
against what it stores now, and a reading changed there after sealing is not proven.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.completeness import KIND, window_record
from gateway.influx import InfluxWriter
from ledger.signing import Signer
from ledger.submitter import RecordSubmitter
from tests.support.events import COLD_ROOM, DOCK, GTIN
from tests.support.webapp import (
    NOW,
    PAGE,
    TODAY,
    Ledgered,
    SteppedSeries,
    app_for,
    ledgered,
    make_client,
    text_of,
)
from traceability.coldchain.exposure import ExposureService
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.records.store import RecordStore
from tracehub.bridges import EvidenceBridge
from tracehub.services import InfluxDB
from web.app import create_app
from web.lotpage import LotPageBuilder

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

HOUR_NS = 3_600 * 10**9


def device_at(location: str) -> str:
    return f"probe-{location[-3:]}"


def hour_readings(location: str, hour: int) -> list[dict[str, object]]:
    start = int(datetime(2026, 11, 22, hour, tzinfo=UTC).timestamp()) * 10**9
    return [
        {"time": str(start + m * 60 * 10**9), "site": "hh", "location": location,
         "seq": m, "celsius": 2.5 + (m % 7) / 10}
        for m in range(60)
    ]  # fmt: skip


def seal(bridge: EvidenceBridge, location: str, hour: int) -> None:
    start = int(datetime(2026, 11, 22, hour, tzinfo=UTC).timestamp()) * 10**9
    readings = hour_readings(location, hour)
    record = window_record(device_at(location), start, start + HOUR_NS, readings)
    bridge.submit(KIND, {**record, "gateway": "gw"})


def line(location: str, reading: dict[str, object]) -> str:
    """A sealed reading as the gateway writes it to InfluxDB (same series, same time)."""
    return (
        f"temperature,device={device_at(location)},location={location},site=hh "
        f"celsius={reading['celsius']!r},seq={reading['seq']}i {reading['time']}"
    )


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


STAYS = ((DOCK, 9), (DOCK, 10), (DOCK, 11), (COLD_ROOM, 10), (COLD_ROOM, 11))


class Drift:
    """Every hour of the lot's stays sealed, anchored and stored in a fresh database."""

    def __init__(self, store: RecordStore, setup: Ledgered, influxdb: InfluxDB) -> None:
        self.store, self.setup = store, setup
        self.database = "db_" + uuid.uuid4().hex[:10]
        self.influx = InfluxWriter(influxdb.url, self.database)
        self.influx.ensure_database()
        self.reader = InfluxTemperatureReader(influxdb.url, self.database, timeout=10.0)
        signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
        bridge = EvidenceBridge(RecordSubmitter(setup.ledger, signer))
        for location, hour in STAYS:
            seal(bridge, location, hour)
            self.influx.write([line(location, r) for r in hour_readings(location, hour)])
        setup.anchor()

    def page(self) -> str:
        # A new app each time: the page cache would answer the earlier build.
        exposure = ExposureService(self.store, self.reader, now=NOW)
        app = create_app(
            self.store, None, "embedded EVM", exposure=exposure, series=self.reader,
            evidence=self.setup.evidence, today=lambda: TODAY, now=lambda: NOW,
        )  # fmt: skip
        with make_client(app) as client:
            html: str = client.get(PAGE).text
            return html

    def close(self) -> None:
        self.reader.close()
        self.influx.close()


@pytest.fixture
def drift(with_events: RecordStore, influxdb: InfluxDB, tmp_path: Path) -> Iterator[Drift]:
    setup = ledgered(with_events, tmp_path / "records.db")
    site = Drift(with_events, setup, influxdb)
    yield site
    site.close()


CHANGED = (
    "1 h of readings changed since sealing — not proven (InfluxDB no longer holds what the "
    "gateway sealed). Readings sealed and anchored for 4 of 5 h; 0 h sealed but not yet "
    "anchored, 0 h not sealed yet"
)


def test_untouched_readings_stay_proven(drift: Drift) -> None:
    html = drift.page()
    assert text_of(html, "telemetry-windows").startswith(
        "The gateway sealed every hour of this lot&#39;s readings (5 h)"
    )
    assert 'id="cold-not-proven"' not in html
    assert 'id="cold-judged"' in html


def test_a_reading_overwritten_after_sealing_is_changed_not_proven(drift: Drift) -> None:
    reading = hour_readings(DOCK, 10)[15]
    drift.influx.write([line(DOCK, {**reading, "celsius": 3.9})])  # same series + time
    html = drift.page()
    assert text_of(html, "telemetry-windows").startswith(CHANGED)
    assert "changed in InfluxDB after the gateway sealed them: not proven" in text_of(
        html, "cold-not-proven"
    )
    drift.influx.write([line(DOCK, reading)])  # put back: proven again
    assert text_of(drift.page(), "telemetry-windows").startswith("The gateway sealed every")


def test_a_reading_deleted_after_sealing_is_changed_not_proven(drift: Drift) -> None:
    at = hour_readings(COLD_ROOM, 11)[40]["time"]
    device = device_at(COLD_ROOM)
    drift.influx.query(f"DELETE FROM temperature WHERE device = '{device}' AND time = {at}")
    html = drift.page()
    assert text_of(html, "telemetry-windows").startswith(CHANGED)
    assert 'id="cold-not-proven"' in html


def test_without_influxdb_to_compare_the_hours_are_not_claimed_proven(
    drift: Drift, influxdb: InfluxDB
) -> None:
    series = SteppedSeries({DOCK: [3.0, 2.5], COLD_ROOM: [2.0, 2.2, 2.1]})
    missing = InfluxTemperatureReader(influxdb.url, "db_missing_" + uuid.uuid4().hex[:8])
    builder = LotPageBuilder(
        drift.store, "embedded EVM", series=series, evidence=drift.setup.evidence,
        stored=missing, now=lambda: NOW, today=lambda: TODAY,
    )  # fmt: skip
    product, lot = drift.store.get_product(GTIN), drift.store.get_lot(GTIN, "L1")
    assert product is not None
    assert lot is not None
    windows = builder.build(product, lot).cold_chain.windows
    missing.close()
    assert windows is not None
    assert (windows.compared, windows.proven, windows.changed) == (False, 5, 0)
