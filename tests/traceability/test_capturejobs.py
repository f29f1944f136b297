"""Capture jobs over a real SQLite records store: submitted durably, captured by a worker
(woken by a submit, or finding jobs another process left), a killed worker's job taken
over and re-captured idempotently, poison documents failed, outages retried."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gs1.errors import EventRejected
from tests.support.events import COLD_ROOM, GTIN, object_event
from tests.support.masterdata import database_url
from tests.traceability.test_capture_document import document
from traceability.capture import CaptureService
from traceability.capturejobs import XML, CaptureJobs, decode, epcis_document
from traceability.errors import RecordRefused, StoreUnavailable
from traceability.records.capturejobs import CaptureJob
from traceability.records.store import RecordStore

JSON_LD = "application/ld+json"


class Clock:
    """A settable clock: the lease runs out when the test says so."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 11, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def submit(jobs: CaptureJobs, doc: dict[str, Any], behaviour: str = "rollback") -> CaptureJob:
    return jobs.submit(
        epcis_document(doc),
        json.dumps(doc),
        media_type=JSON_LD,
        behaviour=behaviour,  # type: ignore[arg-type]
        source="erp-1",
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    with_lot = RecordStore.open(url)
    with_lot.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    with_lot.add_lot(GTIN, "L1", quantity=10, serials=range(1001, 1011))
    with_lot.close()
    return url


@pytest.fixture
def store(db: str) -> Iterator[RecordStore]:
    opened = RecordStore.open(db)
    yield opened
    opened.close()


def test_a_submitted_job_is_captured_and_its_lots_are_told(store: RecordStore) -> None:
    touched: list[tuple[str, str]] = []
    jobs = CaptureJobs(
        store, CaptureService(store), on_captured=lambda g, lot: touched.append((g, lot))
    )
    doc = document(object_event(), object_event(serial="1002", read_point=COLD_ROOM))
    job = submit(jobs, doc)
    assert (job.state, job.event_count, job.source) == ("running", 2, "erp-1")
    assert jobs.drain() == 1
    done = jobs.job(job.id)
    assert done is not None
    assert (done.state, done.captured, done.created, done.errors) == ("success", 2, 2, ())
    assert touched == [(GTIN, "L1")]
    again = submit(jobs, doc)
    jobs.drain()
    redone = jobs.job(again.id)
    assert redone is not None
    assert (redone.state, redone.captured, redone.created) == ("success", 2, 0)  # duplicates


def test_rollback_refuses_all_and_proceed_keeps_the_valid_events(store: RecordStore) -> None:
    jobs = CaptureJobs(store, CaptureService(store))
    doc = document(object_event(), object_event(serial="1002", bizStep="arivng"))
    rolled, proceeded = submit(jobs, doc), submit(jobs, doc, "proceed")
    assert jobs.drain() == 2
    first, second = jobs.job(rolled.id), jobs.job(proceeded.id)
    assert first is not None
    assert second is not None
    assert (first.state, first.captured, [e.index for e in first.errors]) == ("failure", 0, [1])
    assert first.errors[0].field == "bizStep"
    assert (second.state, second.captured, second.created) == ("failure", 1, 1)


def test_a_job_left_by_a_killed_process_is_captured_by_the_next_one_once(db: str) -> None:
    """The first process stored the job, claimed it, captured its events and was killed
    before it recorded the outcome: the next process takes the job over when the lease
    runs out and captures again, which stores nothing twice."""
    clock = Clock()
    doc = document(object_event(), object_event(serial="1002"))
    killed = RecordStore.open(db)
    first = CaptureJobs(killed, CaptureService(killed), clock=clock)
    job = submit(first, doc)
    claim = killed.claim_capture_job(clock.now, clock.now + timedelta(seconds=60))
    assert claim is not None
    assert claim.id == job.id
    CaptureService(killed).capture_document(json.loads(claim.document), "rollback")
    killed.close()  # ... and the process is gone, its parsed copy with it

    restarted = RecordStore.open(db)
    try:
        second = CaptureJobs(restarted, CaptureService(restarted), clock=clock)
        assert second.drain() == 0  # the lease still holds
        clock.now += timedelta(seconds=61)
        assert second.drain() == 1
        done = second.job(job.id)
        assert done is not None
        assert (done.state, done.captured, done.created) == ("success", 2, 0)
        assert len(restarted.query_events(gtin=GTIN, lot="L1")) == 2
    finally:
        restarted.close()


def test_the_worker_is_woken_by_a_submit_and_finds_jobs_other_processes_left(
    db: str, store: RecordStore
) -> None:
    finished: dict[str, threading.Event] = {}
    ready = threading.Lock()

    def told(job: CaptureJob) -> None:
        with ready:
            finished.setdefault(job.id, threading.Event()).set()

    def awaited(job_id: str) -> threading.Event:
        with ready:
            return finished.setdefault(job_id, threading.Event())

    # A poll of an hour: only the submit's wake-up can make this job finish in time.
    jobs = CaptureJobs(store, CaptureService(store), on_finished=told, poll_s=3600)
    jobs.start()
    try:
        job = submit(jobs, document(object_event()))
        assert awaited(job.id).wait(30)
    finally:
        jobs.stop()

    other = RecordStore.open(db)  # another replica's web site stored a job
    try:
        left = submit(CaptureJobs(other, CaptureService(other)), document(object_event("1003")))
    finally:
        other.close()
    polling = CaptureJobs(store, CaptureService(store), on_finished=told, poll_s=0.05)
    polling.start()
    try:
        assert awaited(left.id).wait(30)
    finally:
        polling.stop()
    done = store.capture_job(left.id)
    assert done is not None
    assert done.state == "success"


def test_a_poison_document_fails_its_job_and_the_worker_goes_on(store: RecordStore) -> None:
    class Poisoned(CaptureService):
        def capture_document(self, document: Any, *args: Any, **kwargs: Any) -> Any:
            if document["epcisBody"]["eventList"][0].get("poison"):
                raise RecursionError("maximum recursion depth exceeded")
            return super().capture_document(document, *args, **kwargs)

    jobs = CaptureJobs(store, Poisoned(store))
    poison = submit(jobs, document(object_event(poison=True)))
    fine = submit(jobs, document(object_event()))
    assert jobs.drain() == 2
    failed, done = jobs.job(poison.id), jobs.job(fine.id)
    assert failed is not None
    assert done is not None
    assert failed.state == "failure"
    (error,) = failed.errors
    assert (error.index, error.field) == (None, "document")
    assert "RecursionError" in error.reason
    assert done.state == "success"


def test_an_outage_leaves_the_job_running_and_it_is_retried(store: RecordStore) -> None:
    class Flaky(CaptureService):
        failures = 1

        def capture_document(self, *args: Any, **kwargs: Any) -> Any:
            if self.failures:
                self.failures -= 1
                raise StoreUnavailable("records database failed (test)")
            return super().capture_document(*args, **kwargs)

    jobs = CaptureJobs(store, Flaky(store))
    job = submit(jobs, document(object_event()))
    with pytest.raises(StoreUnavailable):
        jobs.process_next()
    waiting = jobs.job(job.id)
    assert waiting is not None
    assert waiting.state == "running"
    assert jobs.drain() == 1  # the lease was given back: retried at once
    done = jobs.job(job.id)
    assert done is not None
    assert done.state == "success"


def test_a_document_refused_as_a_whole_fails_its_job(store: RecordStore) -> None:
    jobs = CaptureJobs(store, CaptureService(store))
    doc = document(object_event())
    job = jobs.submit(
        epcis_document(doc),
        '{"type": "EPCISDocument"}',  # what another process will read back
        media_type=JSON_LD,
        behaviour="rollback",
        source=None,
        keep=False,
    )
    jobs.drain()
    done = jobs.job(job.id)
    assert done is not None
    assert done.state == "failure"
    assert done.errors[0].field == "epcisBody.eventList"


def test_documents_are_read_as_json_ld_query_documents_and_xml() -> None:
    doc = document(object_event())
    query = {
        "@context": doc["@context"],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "epcisBody": {"queryResults": {"resultsBody": {"eventList": [object_event()]}}},
    }
    assert epcis_document(query)["epcisBody"] == {"eventList": [object_event()]}
    with pytest.raises(EventRejected) as refused:
        epcis_document({"type": "EPCISDocument", "epcisBody": {}})
    assert refused.value.field == "epcisBody.eventList"
    with pytest.raises(EventRejected) as not_one:
        epcis_document([doc])
    assert not_one.value.field == "document"
    xml = decode(XML_DOCUMENT, XML)
    (event,) = xml["epcisBody"]["eventList"]
    assert event["epcList"] == ["urn:epc:id:sgtin:4012345.011111.1001"]
    assert event["readPoint"] == {"id": COLD_ROOM}


def test_an_xml_job_is_captured_from_its_stored_text(store: RecordStore) -> None:
    jobs = CaptureJobs(store, CaptureService(store))
    job = jobs.submit(
        decode(XML_DOCUMENT, XML),
        XML_DOCUMENT,
        media_type=XML,
        behaviour="rollback",
        source=None,
        keep=False,
    )
    jobs.drain()
    done = jobs.job(job.id)
    assert done is not None
    assert (done.state, done.created) == ("success", 1), done.errors
    (stored,) = store.query_events(gtin=GTIN, lot="L1")
    assert stored.read_point == COLD_ROOM


XML_DOCUMENT = f"""<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0"
    creationDate="2026-11-22T11:00:00Z">
  <EPCISBody>
    <EventList>
      <ObjectEvent>
        <eventTime>2026-11-22T10:00:00.123Z</eventTime>
        <eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
        <epcList><epc>urn:epc:id:sgtin:4012345.011111.1001</epc></epcList>
        <action>OBSERVE</action>
        <bizStep>arriving</bizStep>
        <disposition>in_progress</disposition>
        <readPoint><id>{COLD_ROOM}</id></readPoint>
      </ObjectEvent>
    </EventList>
  </EPCISBody>
</epcis:EPCISDocument>
"""


KILLED_WORKER = """
import json, sys, time
from traceability.capture import CaptureService
from traceability.capturejobs import CaptureJobs, epcis_document
from traceability.records.store import RecordStore

class CapturesThenHangs(CaptureService):
    def capture_document(self, *args, **kwargs):
        report = super().capture_document(*args, **kwargs)  # the events are stored
        print("captured", flush=True)
        time.sleep(3600)  # ... and the process is killed before the job is finished
        return report

store = RecordStore.open(sys.argv[1])
document = json.loads(sys.argv[2])
jobs = CaptureJobs(store, CapturesThenHangs(store))
job = jobs.submit(
    epcis_document(document), sys.argv[2], media_type="application/ld+json",
    behaviour="rollback", source="erp-1",
)
print(job.id, flush=True)
jobs.process_next()
"""


def test_a_worker_killed_mid_job_leaves_it_to_the_next_worker(db: str) -> None:
    """A real process captures a job's events and is SIGKILLed before recording the
    outcome; a worker on the same records takes the job over once the lease has run out
    and finishes it without storing anything twice."""
    import os
    import signal
    import subprocess
    import sys

    doc = document(object_event(), object_event(serial="1002"))
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, db, json.dumps(doc)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    with worker:  # closes the pipe
        try:
            assert worker.stdout is not None
            job_id = worker.stdout.readline().strip()
            assert worker.stdout.readline().strip() == "captured"
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait(30)
    assert worker.returncode == -signal.SIGKILL

    store = RecordStore.open(db)
    try:
        left = store.capture_job(job_id)
        assert left is not None
        assert left.state == "running"
        assert len(store.query_events(gtin=GTIN, lot="L1")) == 2
        # Read as if the lease (60 s) had run out, rather than wait for it.
        later = CaptureJobs(
            store,
            CaptureService(store),
            clock=lambda: datetime.now(UTC) + timedelta(seconds=61),
        )
        assert later.drain() == 1
        done = store.capture_job(job_id)
        assert done is not None
        assert (done.state, done.captured, done.created) == ("success", 2, 0)
        assert len(store.query_events(gtin=GTIN, lot="L1")) == 2
    finally:
        store.close()


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]
)
def test_a_long_uri_is_captured_and_the_jobs_behind_it_too(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Finding 1: the schema takes URIs up to 8,192 characters; a 262-character bizStep
    once made PostgreSQL refuse every attempt (varchar(200)) and held the queue."""
    long_step = "https://partner.example.com/vocab/bizstep/" + "x" * 220
    long_place = "https://partner.example.com/places/" + "p" * 1500
    with database_url(kind, tmp_path, request) as url:
        store = RecordStore.open(url)
        try:
            jobs = CaptureJobs(store, CaptureService(store))
            long = submit(
                jobs,
                document(
                    object_event(serial="1001", bizStep=long_step, bizLocation={"id": long_place})
                ),
            )
            honest = submit(jobs, document(object_event(serial="1002")))
            assert jobs.drain() == 2
            states = {job.id: job.state for job in store.capture_jobs(source="erp-1")}
            assert states == {long.id: "success", honest.id: "success"}
            (stored,) = store.query_events(epc="urn:epc:id:sgtin:4012345.011111.1001")
            assert (stored.biz_step, stored.biz_location) == (long_step, long_place)
        finally:
            store.close()


def test_a_value_too_long_for_the_indexes_refuses_its_event_only(store: RecordStore) -> None:
    """Longer than a PostgreSQL B-tree entry: refused per event naming the field (the
    job's other events are captured with proceed), never a failure of every attempt."""
    jobs = CaptureJobs(store, CaptureService(store))
    too_long = "https://partner.example.com/vocab/bizstep/" + "y" * 2000
    doc = document(object_event(serial="1001", bizStep=too_long), object_event(serial="1002"))
    job = submit(jobs, doc, "proceed")
    assert jobs.drain() == 1
    done = jobs.job(job.id)
    assert done is not None
    assert (done.state, done.captured) == ("failure", 1)
    (error,) = done.errors
    assert (error.index, error.field) == (0, "bizStep")
    assert "indexes at most 2000" in error.reason


def test_a_job_the_records_refuse_fails_naming_why(store: RecordStore) -> None:
    class Refusing(CaptureService):
        def capture_document(self, *args: Any, **kwargs: Any) -> Any:
            raise RecordRefused("records database refused a value: value too long (test)")

    jobs = CaptureJobs(store, Refusing(store))
    refused, behind = submit(jobs, document(object_event())), submit(jobs, document())
    assert jobs.drain() == 2  # the first job does not hold the queue
    done = jobs.job(refused.id)
    assert done is not None
    assert done.state == "failure"
    (error,) = done.errors
    assert (error.index, error.field) == (None, "document")
    assert "the records refused it" in error.reason
    assert "value too long" in error.reason
    after = jobs.job(behind.id)
    assert after is not None
    assert after.state == "failure"  # refused the same way: but finished, not retried


def test_a_job_claimed_too_often_without_finishing_is_failed(db: str) -> None:
    """Finding 10: a job whose capture kills the process (OOM, a segfault) is taken over
    after every restart; after ``max_attempts`` claims it is failed, and the job behind
    it is captured."""
    clock = Clock()
    store = RecordStore.open(db)
    try:
        jobs = CaptureJobs(store, CaptureService(store), clock=clock, max_attempts=3)
        deadly = submit(jobs, document(object_event()))
        clock.now += timedelta(seconds=1)
        behind = submit(jobs, document(object_event(serial="1002")))
        for _ in range(3):  # three processes claimed it and died capturing it
            claim = store.claim_capture_job(clock.now, clock.now + timedelta(seconds=60))
            assert claim is not None
            assert claim.id == deadly.id
            clock.now += timedelta(seconds=61)
        assert jobs.drain() == 2
        failed = jobs.job(deadly.id)
        assert failed is not None
        assert failed.state == "failure"
        (error,) = failed.errors
        assert error.field == "document"
        assert error.reason.startswith("captured 3 times without finishing (the process died")
        done = jobs.job(behind.id)
        assert done is not None
        assert done.state == "success"
        assert store.query_events(epc="urn:epc:id:sgtin:4012345.011111.1001") == []
    finally:
        store.close()


def test_an_outage_is_not_counted_as_an_attempt(store: RecordStore) -> None:
    class Flaky(CaptureService):
        failures = 4

        def capture_document(self, *args: Any, **kwargs: Any) -> Any:
            if self.failures:
                self.failures -= 1
                raise StoreUnavailable("records database failed (test)")
            return super().capture_document(*args, **kwargs)

    jobs = CaptureJobs(store, Flaky(store), max_attempts=2)
    job = submit(jobs, document(object_event()))
    for _ in range(4):
        with pytest.raises(StoreUnavailable):
            jobs.process_next()
    assert jobs.drain() == 1
    done = jobs.job(job.id)
    assert done is not None
    assert done.state == "success"
