"""A storage place's temperature report over a period: the band of the products stored
there, the exposure of its probes, the excursion with its probe, the incident there with
its disposition from the signed steps, the lots, the probes' calibration, and what sealed
telemetry proves; rendered to PDF and read back. The auditor route refuses what it
cannot serve with a 400 naming the parameter. Real SQLite, ledger on the embedded EVM."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from ledger.signing import Signer
from tests.support.events import COLD_ROOM, GTIN
from tests.support.webapp import (
    NOW,
    Ledgered,
    SteppedSeries,
    add_places,
    app_for,
    bearer,
    capture_journey,
    ledgered,
    make_client,
)
from tests.traceability.incidents.conftest import make_alarm
from traceability.coldchain.probes import ProbeSeries
from traceability.incidents.model import Actor, LotImpact, incident_id
from traceability.incidents.service import IncidentService
from traceability.records.store import RecordStore
from web.report.placebuild import PlaceReportBuilder
from web.report.placedocument import place_report_pdf

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated"),
]
SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
START = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)
FROM, TO = datetime(2026, 11, 22, 10, tzinfo=UTC), datetime(2026, 11, 22, 12, tzinfo=UTC)
SERIES = {COLD_ROOM: [2.0, 2.0, 2.0, 7.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]}


class NamedProbe(SteppedSeries):
    def probes(self, *args: Any, **kwargs: Any) -> list[ProbeSeries]:
        return [p.model_copy(update={"device": "probe-7"}) for p in super().probes(*args, **kwargs)]


@pytest.fixture
def site(stocked: RecordStore, tmp_path: Path) -> Ledgered:
    add_places(stocked)
    capture_journey(stocked)  # L1's unit 1002 in the cold room from 10:00
    return ledgered(stocked, tmp_path / "records.db")


def _released(store: RecordStore, site: Ledgered) -> str:
    service = IncidentService(store, site.ledger, SIGNER)
    alarm = make_alarm(start=START, location=COLD_ROOM, raised_at=START + timedelta(minutes=1))
    service.raised(alarm)
    iid = incident_id(alarm.id)
    service.acknowledge(iid, Actor(name="li", role="operator"), "door closed")
    service.cleared(alarm.model_copy(update={"cleared_at": START + timedelta(minutes=10)}))
    qa = Actor(name="qa", role="quality")
    service.assess(iid, qa, "short", [LotImpact(gtin=GTIN, lot="L1", impact="fine")])
    service.dispose(iid, qa, GTIN, "L1", "release", "within budget")
    return iid


def _builder(store: RecordStore, site: Ledgered) -> PlaceReportBuilder:
    return PlaceReportBuilder(
        store, site.ledger, NamedProbe(SERIES), site="Hamburg", now=lambda: NOW
    )


def test_a_cold_rooms_report_over_a_period(stocked: RecordStore, site: Ledgered) -> None:
    iid = _released(stocked, site)
    site.anchor()
    report = _builder(stocked, site).build(COLD_ROOM, FROM, TO, (None, None))
    assert (report.band_min_c, report.band_max_c) == (0.0, 4.0)  # the salmon's band
    assert report.band_source.startswith("the band of the one product stored here in the period")
    assert "not held against their signed versions" in report.band_source
    assert report.readings == 12
    assert report.max_c == 7.5
    (excursion,) = report.excursions
    assert excursion.start == START
    assert excursion.device == "probe-7"
    (incident,) = report.incidents
    assert incident.incident == iid
    assert incident.dispositions == (f"release of {GTIN}/L1 by qa (quality)",)
    assert incident.valid
    assert incident.anchored
    assert [(lot.gtin, lot.lot) for lot in report.lots] == [(GTIN, "L1")]
    assert [p.device for p in report.probes] == ["probe-7"]
    pages = PdfReader(io.BytesIO(place_report_pdf(report))).pages
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pages)
    assert "Temperature report of a storage place" in text
    assert "Cold room 2, Hamburg" in text
    assert "0.0 °C to 4.0 °C" in text
    assert f"release of {GTIN}/L1 by qa (quality)" in text
    assert "signed, anchored" in text
    assert "no calibration record" in text


def test_a_band_asked_for_replaces_the_products(stocked: RecordStore, site: Ledgered) -> None:
    report = _builder(stocked, site).build(COLD_ROOM, FROM, TO, (2.0, 8.0))
    assert (report.band_min_c, report.band_max_c) == (2.0, 8.0)
    assert report.excursions == ()  # 7.5 °C is inside 2–8


def test_the_route_is_for_auditors_and_names_a_bad_parameter(
    stocked: RecordStore, site: Ledgered
) -> None:
    app = app_for(stocked, SteppedSeries(SERIES), places=_builder(stocked, site))
    path = f"/auditor/places/{COLD_ROOM}/report.pdf"
    good = {"from": "2026-11-22T10:00:00Z", "to": "2026-11-22T12:00:00Z"}
    with make_client(app) as client:
        assert client.get(path, params=good).status_code == 401
        auditor = bearer(stocked, "auditor", name="inspector")
        answer = client.get(path, params=good, headers=auditor)
        assert answer.status_code == 200
        assert answer.content.startswith(b"%PDF-")
        for params, named in (
            ({"from": good["from"]}, "to:"),
            ({**good, "to": "2027-06-01T00:00:00Z"}, "to: at most 92 days"),
            ({**good, "from": "yesterday"}, "from:"),
            ({**good, "min": "cold"}, "min:"),
            ({**good, "min": "8", "max": "2"}, "max:"),
            ({**good, "place": "x"}, "place: not a parameter"),
        ):
            refused = client.get(path, params=params, headers=auditor)
            assert refused.status_code == 400, params
            assert refused.json()["detail"].startswith(named), refused.json()
        unknown = client.get(
            "/auditor/places/urn:epc:id:sgln:4012345.00099.0/report.pdf",
            params=good,
            headers=auditor,
        )
        assert unknown.status_code == 404
