"""A room only sensor-only EPCIS events report on: its events are signed into the place's
stream, carried by the lot's bundle, and ``verify`` re-derives what the page says about
the ``epcis:`` probe; pending while an event is not anchored, failed when a stored body
is edited.

Real components, as ``test_claimcheck``: records and ledger in SQLite, anchors on the
embedded EVM, InfluxDB (holding nothing at the dock: no gateway probe reports there).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ledger.verify.report import Check, Outcome
from tests.support.events import DOCK, GTIN
from tests.support.masterdata import sign_master
from tests.support.sensorevents import LOGGER, sensor_event
from tests.traceability.anchoring.test_claimcheck import SIGNER, checks
from tests.traceability.anchoring.test_telemetrycheck import T0, Site, site
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.claims import PageClaims
from traceability.anchoring.feeder import EVENT_KIND, EventLeaves
from traceability.anchoring.proofs import LedgerEvidence
from traceability.anchoring.provenreadings import SensorEvents
from traceability.anchoring.seals import location_stream
from traceability.anchoring.verification import verify_lot
from traceability.capture import CaptureService
from traceability.carbon.lotfootprint import LedgerFootprint
from traceability.coldchain.eventsensors import CombinedSeries, EventSensorSeries
from traceability.coldchain.exposure import ExposureService
from traceability.records.schema import events
from web.lotpage import LotPageBuilder

pytestmark = pytest.mark.integration
__all__ = ["site"]  # the fixture, shared with the telemetry checks

AS_OF = T0 + timedelta(hours=2)
PROBE = "epcis:" + LOGGER


def readings(hour: int) -> list[tuple[datetime, float]]:
    """Every 5 min of ``hour`` (0: 10:00) at 3 °C, but 10:30–10:40 at 5 °C (15 min out)."""
    return [
        (T0 + timedelta(hours=hour, minutes=m), 5.0 if hour == 0 and 30 <= m <= 40 else 3.0)
        for m in range(0, 60, 5)
    ]


def capture_room(site: Site, *hours: int) -> list[str]:
    capture = CaptureService(site.store, ledger=EventLeaves(site.ledger, SIGNER))
    return [capture.capture(sensor_event(DOCK, readings(h))).event_id for h in hours]


def page(site: Site, as_of: datetime = AS_OF) -> PageClaims:
    series = CombinedSeries(site.reader, EventSensorSeries(site.store))  # as the hub wires it
    exposure = ExposureService(site.store, series, now=as_of)
    return PageClaims(site.store, exposure, LedgerFootprint(site.ledger), as_of)


def anchored_room(site: Site) -> list[str]:
    ids = capture_room(site, 0, 1)
    sign_master(site.store, site.ledger, SIGNER)
    site.seal_and_anchor()  # no gateway readings: nothing sealed; the events anchored
    return ids


def cold_chain(site: Site, bundle: dict[str, Any]) -> list[Check]:
    return checks(site, bundle)["cold chain"]


def test_the_rooms_events_are_in_its_stream_and_the_page_is_re_derived(site: Site) -> None:
    ids = anchored_room(site)
    stream = [e.entry for e in site.ledger.stream(location_stream(DOCK))]
    assert [e.record_id for e in stream if e.kind == EVENT_KIND] == ids
    bundle = lot_bundle(site.store, site.ledger, GTIN, "L1", SIGNER, AS_OF, claims=page(site))
    stated = bundle["claims"]["cold_chain"]
    assert (stated["state"], stated["minutes_out"], stated["readings"]) == ("compromised", 15, 24)
    assert stated["probes"] == [{"location": DOCK, "start": "2026-11-22T10:00:00Z",
                                 "devices": [PROBE]}]  # fmt: skip
    assert [e["device"] for e in stated["excursions"]] == [PROBE]
    (found,) = cold_chain(site, bundle)
    assert found.outcome is Outcome.OK, found.detail  # no seal asked of a room no probe reads
    assert "15 min out of range" in found.detail
    # The whole verification: the events' proofs hold, none is taken for the lot's own.
    report = verify_lot(site.store, site.ledger, GTIN, "L1", site.chain, now=AS_OF,
                        claims=page(site))  # fmt: skip
    assert [c for c in report.checks if c.outcome is Outcome.FAIL] == []
    assert [c.outcome for c in report.checks if c.subject.startswith("cold chain")] == [Outcome.OK]


def test_an_event_not_anchored_yet_leaves_the_verdict_pending(site: Site) -> None:
    anchored_room(site)
    (late,) = capture_room(site, 2)  # signed, in no anchored batch yet
    as_of = AS_OF + timedelta(hours=1)
    bundle = lot_bundle(
        site.store, site.ledger, GTIN, "L1", SIGNER, as_of, claims=page(site, as_of)
    )
    assert list(SensorEvents.of(bundle).unanchored) == [late]
    (found,) = cold_chain(site, bundle)
    assert found.outcome is Outcome.PENDING, found.detail
    assert "1 sensor event(s) signed, not anchored yet" in found.detail


def test_a_stored_sensor_body_edited_fails_verification(site: Site) -> None:
    first, _ = anchored_room(site)
    with site.store._engine.begin() as conn:  # an operator's SQL console: a cooler hour
        body = json.loads(
            conn.execute(sa.select(events.c.body).where(events.c.id == first)).scalar_one()
        )
        for report in body["sensorElementList"][0]["sensorReport"]:
            report["value"] = min(report["value"], 3.5)
        conn.execute(sa.update(events).where(events.c.id == first).values(body=json.dumps(body)))
    report = verify_lot(site.store, site.ledger, GTIN, "L1", site.chain, now=AS_OF,
                        claims=page(site))  # fmt: skip
    failed = [c for c in report.checks if c.outcome is Outcome.FAIL]
    assert first in {c.record_id for c in failed}  # its signed digest no longer matches
    numbers = [c.detail for c in failed if c.subject.startswith("cold chain")]
    # The page read the edited hour; the proven readings leave the altered event out.
    assert "readings: the page counts 24, the sealed readings give 12" in numbers, numbers


def test_a_sensor_event_put_in_by_hand_is_no_proven_reading(site: Site) -> None:
    anchored_room(site)
    hot = sensor_event(DOCK, [(T0 + timedelta(minutes=50, seconds=30), 12.0)], "urn:x:forged")
    CaptureService(site.store).capture(hot)  # stored, never signed (no capture entry)
    bundle = lot_bundle(site.store, site.ledger, GTIN, "L1", SIGNER, AS_OF, claims=page(site))
    failed = [c.detail for c in cold_chain(site, bundle) if c.outcome is Outcome.FAIL]
    assert "maximum °C: the page says 12, the sealed readings give 5" in failed, failed
    assert (
        f"probes: the page read {PROBE}, epcis:urn:x:forged at {DOCK}, the proven readings "
        f"give {PROBE} at {DOCK}"
    ) in failed


def test_a_bundle_whose_claims_name_no_probes_asks_seals_of_every_stay(site: Site) -> None:
    anchored_room(site)
    bundle = lot_bundle(site.store, site.ledger, GTIN, "L1", SIGNER, AS_OF, claims=page(site))
    del bundle["claims"]["cold_chain"]["probes"]  # as written before the page named them
    (found,) = cold_chain(site, bundle)
    assert found.outcome is Outcome.PENDING
    assert "2 of 2 hour(s) of the lot's stays are not covered by an anchored" in found.detail


def test_the_lot_page_asks_no_seal_of_a_room_only_sensor_events_report_on(site: Site) -> None:
    anchored_room(site)
    series = CombinedSeries(site.reader, EventSensorSeries(site.store))  # as the hub wires it
    evidence = LedgerEvidence(site.store, site.ledger, SIGNER, claims=lambda at: page(site, at))
    builder = LotPageBuilder(
        site.store,
        "embedded",
        exposure=ExposureService(site.store, series, now=AS_OF),
        series=series,
        evidence=evidence,
        now=lambda: AS_OF,
    )
    product, lot = site.store.get_product(GTIN), site.store.get_lot(GTIN, "L1")
    assert product is not None
    assert lot is not None
    windows = builder.build(product, lot).cold_chain.windows
    assert windows is not None
    # The dock's hours are proven by its anchored sensor events, not open for want of a
    # gateway seal (before, every one of them counted as open).
    assert (windows.open, windows.sealed, windows.changed) == (0, 0, 0)
