"""The incidents cache in the records, on SQLite and on a real PostgreSQL: opening is
idempotent by id and alarm, alarms join, a step's seq is taken once, the span's end
only moves later, lists by state."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.postgres import PostgreSQL
from traceability.errors import RecordConflict
from traceability.records.store import RecordStore

T0 = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    if request.param == "sqlite":
        store = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
        yield store
        store.close()
        return
    postgres: PostgreSQL = request.getfixturevalue("postgres")
    name = f"inc_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    store = RecordStore.open(postgres.url.rsplit("/", 1)[0] + f"/{name}")
    yield store
    store.close()
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _incident(iid: str = "inc-1") -> dict[str, Any]:
    return {
        "id": iid,
        "state": "open",
        "rule": "r1",
        "kind": "temperature_high",
        "severity": "critical",
        "site": "demo",
        "location": "urn:epc:id:sgln:4012345.00002.0",
        "place_name": "Cold room 1",
        "device": "p1",
        "started_at": T0,
        "raised_at": T0.replace(minute=44),
        "cleared_at": None,
        "peak_c": 9.4,
        "threshold_c": 8.0,
        "summary": "Cold room 1: too warm",
        "lots": ("04012345111118/L1",),
    }


def _step(seq: int, step: str = "opened", iid: str = "inc-1") -> dict[str, Any]:
    return {
        "seq": seq,
        "step": step,
        "actor": "tracehub",
        "role": "system",
        "at": T0,
        "record": {"seq": seq, "step": step, "comment": f"c{seq}", "price": "¥"},
        "record_id": f"incident:{iid}/{seq}",
    }


def test_the_incident_cache(records: RecordStore) -> None:
    first = records.open_incident(_incident(), "alm-1", _step(1))
    assert records.open_incident(_incident(), "alm-1", _step(1)) == first  # idempotent
    assert first["lots"] == ("04012345111118/L1",)
    assert first["steps"][0]["record"]["price"] == "¥"
    assert first["steps"][0]["comment"] == "c1"
    records.attach_alarm("inc-1", "alm-2")
    records.attach_alarm("inc-1", "alm-2")
    found = records.incident_for_alarm("alm-2")
    assert found is not None
    assert found["alarm_ids"] == ("alm-1", "alm-2")
    assert records.unclosed_incident("r1", _incident()["location"]) == found
    records.incident_cleared("inc-1", T0.replace(minute=50))
    records.incident_cleared("inc-1", T0.replace(minute=45))  # never earlier
    moved = records.add_step("inc-1", _step(2, "acknowledged"), "acknowledged")
    assert moved["cleared_at"] == T0.replace(minute=50)
    assert moved["state"] == "acknowledged"
    with pytest.raises(RecordConflict, match="step 2 was taken meanwhile"):
        records.add_step("inc-1", _step(2, "acknowledged"), "acknowledged")
    records.add_step("inc-1", _step(3, "closed"), "closed")
    assert records.unclosed_incident("r1", _incident()["location"]) is None
    assert [i["id"] for i in records.incidents("closed")] == ["inc-1"]
    assert records.incidents("open") == []
    assert records.incident("inc-nope") is None


def test_a_joined_alarm_and_changes_go_with_their_step_and_done_marks_what_is_finished(
    records: RecordStore,
) -> None:
    records.open_incident(_incident(), "alm-1", _step(1))
    assert [i["id"] for i in records.unfinished_incidents()] == ["inc-1"]  # nothing done yet
    records.incident_done("inc-1", 1)
    assert records.unfinished_incidents() == []
    joined = records.add_step("inc-1", _step(2, "joined"), "open", alarm_id="alm-2")
    assert joined["alarm_ids"] == ("alm-1", "alm-2")
    with pytest.raises(RecordConflict):  # the alarm joined already: nothing else is written
        records.add_step("inc-1", _step(3, "joined"), "open", alarm_id="alm-2")
    assert len(records.incident("inc-1")["steps"]) == 2  # type: ignore[index]
    cleared = records.add_step(
        "inc-1",
        _step(3, "cleared"),
        "open",
        changes={"cleared_at": T0.replace(minute=50), "peak_c": 11.5},
    )
    assert (cleared["cleared_at"], cleared["peak_c"], cleared["state"]) == (
        T0.replace(minute=50),
        11.5,
        "open",
    )
    assert cleared["done_seq"] == 1
    assert [i["id"] for i in records.unfinished_incidents()] == ["inc-1"]
    records.incident_done("inc-1", 3)
    records.incident_done("inc-1", 2)  # never moves back
    assert records.incident("inc-1")["done_seq"] == 3  # type: ignore[index]
    assert records.unfinished_incidents() == []
