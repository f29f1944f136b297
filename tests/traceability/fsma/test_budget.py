"""The bound on an export's work (``traceability.fsma.budget``, issue #20 review M4): rows,
lots and time refuse the export naming ``to`` (never half an answer), and each lot's TLC
source from before the window is read for a page of lots per query, not a query per lot,
over SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgreSQL
from tests.traceability.fsma.conftest import PACKHOUSE, PROCESSOR, ROMAINE, document
from traceability.capture import CaptureService
from traceability.fsma.errors import ExportRefused
from traceability.fsma.export import Fsma204Export
from traceability.records.locations import Location
from traceability.records.store import RecordStore

FROM, TO = date(2026, 6, 1), date(2026, 6, 4)
LOTS = 30


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    if request.param == "sqlite":
        store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
        yield store
        store.close()
        return
    postgres: PostgreSQL = request.getfixturevalue("postgres")
    name = f"fsma_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    store = RecordStore.open(postgres.url.rsplit("/", 1)[0] + f"/{name}")
    yield store
    store.close()
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _lot(n: int) -> list[dict[str, Any]]:
    return [{"epcClass": f"urn:epc:class:lgtin:0614141.011111.L{n:03d}", "quantity": 10}]


def _event(time: str, **fields: Any) -> dict[str, Any]:
    return {"type": "ObjectEvent", "eventTime": time, "eventTimeZoneOffset": "+00:00", **fields}


def packed_and_shipped(store: RecordStore) -> None:
    """``LOTS`` lots packed in May (before the window), each shipped on 2 June; the
    records also hold, before the window, a commissioning that is no packing (OBSERVE)
    at the processor for every lot, later than the packing."""
    store.add_product(ROMAINE, "Romaine")
    for urn in (PACKHOUSE, PROCESSOR):
        store.add_location(Location(urn=urn, name=urn[-9:], kind="site", country="US"))
    events: list[dict[str, Any]] = []
    for n in range(LOTS):
        events.append(
            _event(
                f"2026-05-10T08:00:{n:02d}Z",
                action="ADD",
                bizStep="commissioning",
                quantityList=_lot(n),
                bizLocation={"id": PACKHOUSE},
            )
        )
        events.append(
            _event(
                f"2026-05-20T08:00:{n:02d}Z",
                action="OBSERVE",
                bizStep="commissioning",
                quantityList=_lot(n),
                bizLocation={"id": PROCESSOR},
            )
        )
        events.append(
            _event(
                f"2026-06-02T08:00:{n:02d}Z",
                action="OBSERVE",
                bizStep="shipping",
                quantityList=_lot(n),
                sourceList=[{"type": "location", "source": PACKHOUSE}],
                destinationList=[{"type": "location", "destination": PROCESSOR}],
            )
        )
    report = CaptureService(store).capture_document(document(events))
    assert report.ok, report.errors


def counting(monkeypatch: pytest.MonkeyPatch, store: RecordStore, name: str) -> Callable[[], int]:
    calls: list[int] = []
    method = getattr(store, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return method(*args, **kwargs)

    monkeypatch.setattr(store, name, counted)
    return lambda: len(calls)


def test_tlc_sources_before_the_window_are_one_query_per_page_of_lots(
    records: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    packed_and_shipped(records)
    per_lot = counting(monkeypatch, records, "query_events")
    batched = counting(monkeypatch, records, "first_events_of_lots")
    rows = Fsma204Export(records).rows(FROM, TO)
    assert len(rows) == LOTS
    # each lot's source is its packing (ADD), not the later OBSERVE at the processor
    assert {row.tlc_source for row in rows} == {f"{PACKHOUSE[-9:]} ({PACKHOUSE}); country US"}
    assert (per_lot(), batched()) == (0, 1)


def test_more_rows_than_the_bound_refuse_the_export(
    store: RecordStore, chain: dict[str, str]
) -> None:
    with pytest.raises(ExportRefused) as refused:
        Fsma204Export(store, max_rows=10).rows(FROM, TO)  # the window gives 11
    assert refused.value.field == "to"
    assert str(refused.value) == (
        "to: from 2026-06-01 to 2026-06-04 holds more than 10 rows (one per CTE and lot); "
        "ask for a shorter window"
    )
    assert len(Fsma204Export(store, max_rows=11).rows(FROM, TO)) == 11


def test_more_lots_than_the_bound_refuse_the_export(
    store: RecordStore, chain: dict[str, str]
) -> None:
    with pytest.raises(ExportRefused, match=r"^to: .* holds more than 2 lots; ask for a shorter"):
        Fsma204Export(store, max_lots=2).rows(FROM, TO)  # GV0601, GV0599, FC0603
    assert len(Fsma204Export(store, max_lots=3).rows(FROM, TO)) == 11
    with pytest.raises(ValueError, match="max_lots"):
        Fsma204Export(store, max_lots=0)


def test_an_export_past_its_deadline_is_refused_from_inside_its_loops(
    store: RecordStore, chain: dict[str, str]
) -> None:
    ticks: list[float] = []

    def clock() -> float:  # one second per reading: the deadline passes mid-export
        ticks.append(len(ticks))
        return float(len(ticks))

    with pytest.raises(ExportRefused) as refused:
        Fsma204Export(store, seconds=5, clock=clock).rows(FROM, TO)
    assert str(refused.value) == (
        "to: from 2026-06-01 to 2026-06-04 could not be exported within 5 s; "
        "ask for a shorter window"
    )
    assert len(ticks) == 7  # the start, then checks until the sixth second passed five
    ticks.clear()
    assert len(Fsma204Export(store, seconds=1000, clock=clock).rows(FROM, TO)) == 11
    assert len(ticks) > 7  # a whole export checks the time more often: it stopped midway


def test_the_lookup_reads_each_lots_oldest_few_candidates_only(records: RecordStore) -> None:
    packed_and_shipped(records)
    keys = [(ROMAINE, f"L{n:03d}") for n in range(LOTS)]
    first = records.first_events_of_lots(
        keys, until=None, biz_steps=("commissioning",), outputs_of=(), per_lot=1
    )
    assert [e.action for e in first] == ["ADD"] * LOTS  # the oldest of each lot, by time
    both = records.first_events_of_lots(
        keys[:2], until=None, biz_steps=("commissioning", "shipping"), outputs_of=(), per_lot=5
    )
    assert len(both) == 6  # every candidate of the two lots: fewer than five each
    cut = datetime(2026, 5, 15, tzinfo=UTC)
    assert (
        len(
            records.first_events_of_lots(
                keys, until=cut, biz_steps=("commissioning",), outputs_of=(), per_lot=5
            )
        )
        == LOTS
    )
