"""Probe calibration rows on SQLite and PostgreSQL: a history per probe, one transaction
per file (a conflicting row keeps nothing and is named), the same certificate again a
no-op, filters by probe and due date; migration 0013 adds and drops the table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.masterdata import database_url
from traceability.calibration.record import Calibration
from traceability.errors import RecordConflict
from traceability.records import migrate
from traceability.records.store import RecordStore


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path, request) as found:
        yield found


@pytest.fixture
def records(url: str) -> Iterator[RecordStore]:
    store = RecordStore.open(url)
    yield store
    store.close()


def cal(probe: str, on: date, due: date, number: str, **more: object) -> Calibration:
    return Calibration.model_validate(
        {"probe": probe, "calibrated_on": on, "due_on": due, "lab": "Lab Nord",
         "certificate_number": number, "uncertainty_c": 0.15, **more}
    )  # fmt: skip


A1 = cal("p7", date(2025, 1, 10), date(2026, 1, 10), "C-1", accuracy_found_c=0.05)
A2 = cal("p7", date(2026, 1, 5), date(2027, 1, 5), "C-2", certificate_sha256="ab" * 32)
B1 = cal("p8", date(2025, 6, 1), date(2026, 6, 1), "C-3")


def test_a_history_per_probe_read_back_as_written(records: RecordStore) -> None:
    records.add_calibrations([A2, B1])
    records.add_calibrations([A1])
    assert records.calibrations() == [A1, A2, B1]
    assert records.calibrations("p7") == [A1, A2]
    assert records.calibrations(due_before=date(2026, 6, 1)) == [A1]
    assert sorted(records.calibrations_of(["p8", "p8"]), key=lambda c: c.probe) == [B1]
    assert records.calibrations_of([]) == []


def test_the_same_certificate_again_is_a_no_op(records: RecordStore) -> None:
    records.add_calibrations([A1])
    records.add_calibrations([A1])
    assert records.calibrations() == [A1]


def test_a_conflicting_row_keeps_nothing_of_the_file_and_is_named(records: RecordStore) -> None:
    records.add_calibrations([A1])
    changed = A1.model_copy(update={"uncertainty_c": 0.3})
    with pytest.raises(RecordConflict, match=r"row 2: calibration of probe p7 certificate C-1"):
        records.add_calibrations([B1, changed])
    assert records.calibrations() == [A1]


def test_migration_0013_adds_and_drops_the_table(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            migrate.upgrade(conn)
        assert "probe_calibrations" in sa.inspect(engine).get_table_names()
        with engine.begin() as conn:
            migrate.downgrade(conn, "0012")
        assert "probe_calibrations" not in sa.inspect(engine).get_table_names()
        with engine.begin() as conn:
            migrate.upgrade(conn)
        assert "probe_calibrations" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
