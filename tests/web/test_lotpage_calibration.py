"""The lot page notes a stay read by a probe out of calibration ("A probe here was out
of calibration since D"), from the site's SIGNED calibration records: a row edited in
the database after signing does not change it; a calibrated probe adds no note; the
page names no probe (privacy). Real SQLite records and ledger, named in-memory probes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.events import COLD_ROOM, DOCK
from tests.support.webapp import NOW, PAGE, TODAY, make_client
from tests.traceability.coldchain.test_calibration_flags import (
    RECORDS,
    ROOM_PROBE,
    NamedSeries,
)
from traceability.coldchain.exposure import ExposureService
from traceability.masterdata.calibration import ProbeCalibrations, SignedCalibrationSource
from traceability.records.store import RecordStore
from web.app import create_app

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
NOTE = "A probe here was out of calibration since 2026-11-01"


def _page(store: RecordStore, ledger: LedgerStore, lang: str = "en") -> str:
    series = NamedSeries({DOCK: [3.0, 3.5], COLD_ROOM: [2.0, 2.2]})
    exposure = ExposureService(store, series, now=NOW, calibrations=SignedCalibrationSource(ledger))
    app = create_app(
        store, None, "embedded EVM", exposure=exposure, series=series,
        today=lambda: TODAY, now=lambda: NOW,
    )  # fmt: skip
    with make_client(app) as client:
        return str(client.get(PAGE, params={"lang": lang}).text)


def _journey(html: str) -> list[str]:
    found = re.search(r'<section id="journey">(.*?)</section>', html, re.S)
    assert found, "no journey"
    items = re.findall(r"<li[^>]*>(.*?)</li>", found.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", li).split()) for li in items]


def test_the_stay_read_by_an_overdue_probe_carries_the_note(
    with_events: RecordStore, tmp_path: Path
) -> None:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    before = _page(with_events, ledger)
    ProbeCalibrations(with_events, ledger, signer).add(RECORDS)
    html = _page(with_events, ledger)
    dock, room = _journey(html)
    assert NOTE not in dock
    assert NOTE in room
    assert ROOM_PROBE not in html  # no device id on the consumer page
    # Before any record was signed every probe is unknown: both stays say so.
    assert all("had no calibration on record" in stop for stop in _journey(before))
    assert "校准已过期" in _journey(_page(with_events, ledger, "zh-CN"))[1]
    # An edit of the row after signing changes nothing the page says.
    engine = sa.create_engine(str(with_events._engine.url))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE probe_calibrations SET due_on = :due"), {"due": date(2030, 1, 1)}
        )
    engine.dispose()
    assert NOTE in _journey(_page(with_events, ledger))[1]
    ledger.close()


def test_a_calibrated_stay_says_its_record_is_unanchored_and_signed_after_it(
    with_events: RecordStore, tmp_path: Path
) -> None:
    # Signed now (after the stays) and in no anchored batch: never stated as bare fact.
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    later = datetime(2026, 12, 2, 9, tzinfo=UTC)  # the stays ended before (at NOW)
    ProbeCalibrations(with_events, ledger, signer, clock=lambda: later).add(RECORDS)
    signed_on = later.date()
    dock, room = _journey(_page(with_events, ledger))
    assert "A probe here was calibrated, by a record not yet anchored." in dock
    assert f"by a record recorded {signed_on}, after this stay." in dock
    assert "not yet anchored" not in room  # out of calibration: the note says that instead
    assert "尚未锚定" in _journey(_page(with_events, ledger, "zh-CN"))[0]
    ledger.close()
