"""The temperature report of a lot after an excursion, rendered to PDF by WeasyPrint and
read back with pypdf: the band, the MKT, the excursion with its probe, its incident and
its disposition, and the proof. Real SQLite, ledger anchored on the embedded EVM."""

from __future__ import annotations

import http.server
import io
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from ledger.signing import Signer
from tests.support.events import COLD_ROOM, GTIN
from tests.support.webapp import (
    NOW,
    TODAY,
    Ledgered,
    SteppedSeries,
    add_places,
    capture_journey,
    ledgered,
)
from tests.traceability.incidents.conftest import make_alarm
from traceability.coldchain.exposure import ExposureService
from traceability.coldchain.probes import ProbeSeries
from traceability.incidents.model import Actor, LotImpact, incident_id
from traceability.incidents.service import IncidentService
from traceability.records.entities import Lot, Product
from traceability.records.store import RecordStore
from web.lotpage import LotPageBuilder
from web.report.build import NO_CALIBRATION, UNNAMED, ReportBuilder
from web.report.document import MAX_ROWS, report_html, report_pdf
from web.report.view import TemperatureReport

pytestmark = pytest.mark.integration

SIGNER = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
START = datetime(2026, 11, 22, 10, 30, tzinfo=UTC)  # the excursion's first reading
# one reading per 10 min from 10:00 in the cold room: 7.5 °C at 10:30, out of 0–4 °C
SERIES = {COLD_ROOM: [2.0, 2.0, 2.0, 7.5, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]}


class NamedProbe(SteppedSeries):
    """The stepped readings, from a probe with a name (as the gateway's are)."""

    def probes(self, *args: Any, **kwargs: Any) -> list[ProbeSeries]:
        return [p.model_copy(update={"device": "probe-7"}) for p in super().probes(*args, **kwargs)]


class Calibrated:
    def describe(self, device: str, start: datetime, end: datetime) -> str:
        return f"calibrated until 2027-06-30 ({device})"


@pytest.fixture
def site(stocked: RecordStore, tmp_path: Path) -> Ledgered:
    add_places(stocked)
    capture_journey(stocked)
    return ledgered(stocked, tmp_path / "records.db")


def _release(store: RecordStore, site: Ledgered) -> str:
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


def _report(
    store: RecordStore, site: Ledgered, calibration: Calibrated | None, named: bool = True
) -> TemperatureReport:
    series = NamedProbe(SERIES) if named else SteppedSeries(SERIES)
    exposure = ExposureService(store, series, now=NOW)
    pages = LotPageBuilder(
        store,
        "embedded EVM",
        exposure=exposure,
        series=series,
        evidence=site.evidence,
        today=lambda: TODAY,
        now=lambda: NOW,
    )
    builder = ReportBuilder(
        store,
        pages,
        exposure,
        site="Hamburg cold store",
        calibration=calibration,
        now=lambda: NOW,
    )
    product, lot = store.get_product(GTIN), store.get_lot(GTIN, "L1")
    assert isinstance(product, Product)
    assert isinstance(lot, Lot)
    return builder.build(product, lot, f"https://id.example.com/01/{GTIN}/10/L1")


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_the_report_after_an_excursion_names_band_mkt_excursion_and_disposition(
    stocked: RecordStore, site: Ledgered
) -> None:
    iid = _release(stocked, site)
    site.anchor()
    report = _report(stocked, site, Calibrated())
    pdf = report_pdf(report)
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "Temperature report" in text
    assert "Allowed band 0.0 °C to 4.0 °C" in text
    mkt = report.view.cold_chain.mkt_c
    assert mkt is not None
    assert f"({mkt:.1f} °C)"[1:-1] in text
    (excursion,) = report.excursions
    assert excursion.start == START
    assert excursion.incident == iid
    assert excursion.disposition == "release"
    assert excursion.disposed_by == "quality"
    assert "Cold room 2, Hamburg" in text
    assert "7.5 °C" in text
    assert iid in text.replace(" ", "")
    assert "release (quality)" in text
    assert "calibrated until 2027-06-30 (probe-7)" in text
    assert excursion.device == "probe-7"
    assert "The rest are not yet anchored" not in text  # every record of the lot is anchored
    # no gateway sealed these readings (a test series): the report says they are not proven
    assert "h not sealed yet" in text
    assert report.view.proofs.batches[-1].root in text.replace(" ", "")


def test_an_unanchored_lot_says_nothing_is_proven_and_no_calibration_is_known(
    stocked: RecordStore, site: Ledgered
) -> None:
    _release(stocked, site)  # the incident's steps: signed, not anchored
    report = _report(stocked, site, None)
    assert not report.anchored
    html = report_html(report)
    assert "not yet anchored" in html
    assert all(p.calibration == NO_CALIBRATION for p in report.probes)
    assert report.probes
    assert "signed, not yet anchored" in _text(report_pdf(report))
    unnamed = _report(stocked, site, Calibrated(), named=False)
    assert {p.calibration for p in unnamed.probes} == {UNNAMED}


def test_rendering_fetches_nothing_a_name_points_to(stocked: RecordStore, site: Ledgered) -> None:
    stocked.update_product(GTIN, name='<img src="http://169.254.169.254/latest">')
    report = _report(stocked, site, None)
    html = report_html(report)
    assert "<img src=" not in html  # escaped: a name is text
    assert _text(report_pdf(report))  # and rendering does not try to fetch it


def test_long_tables_stop_at_the_row_cap_and_say_how_many_more(
    stocked: RecordStore, site: Ledgered
) -> None:
    report = _report(stocked, site, None)
    (one,) = report.excursions
    many = tuple(one.model_copy(update={"minutes": float(i)}) for i in range(MAX_ROWS + 25))
    html = report_html(report.model_copy(update={"excursions": many}))
    assert html.count('<td class="num">7.5 °C</td>') == MAX_ROWS
    assert "… and 25 more excursions" in html


def test_a_url_in_the_document_is_never_fetched(
    stocked: RecordStore, site: Ledgered, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/latest/meta-data"
        page = (
            f'<html><body><img src="{url}"><link rel="stylesheet" href="{url}.css"></body></html>'
        )
        monkeypatch.setattr("web.report.document.report_html", lambda report: page)
        assert report_pdf(_report(stocked, site, None)).startswith(b"%PDF-")
    finally:
        server.shutdown()
        server.server_close()
    assert asked == []
