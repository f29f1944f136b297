"""Capture job records: stored with their document, leased by one worker at a time, taken
over when a lease runs out, finished once, listed newest first; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.masterdata import database_url
from traceability.errors import RecordRefused
from traceability.records.capturejobs import JobIssue, JobOutcome
from traceability.records.store import RecordStore

T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def records(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    with database_url(request.param, tmp_path, request) as url:
        opened = RecordStore.open(url)
        yield opened
        opened.close()


def _add(records: RecordStore, job_id: str, at: datetime, source: str | None = "erp-1") -> None:
    records.add_capture_job(
        job_id,
        behaviour="rollback",
        source=source,
        media_type="application/ld+json",
        document=f'{{"job": "{job_id}"}}',
        event_count=3,
        created_at=at,
    )


def _success(at: datetime) -> JobOutcome:
    return JobOutcome(state="success", finished_at=at, captured=3, created=2)


def test_a_job_is_claimed_by_one_worker_and_finished_once(records: RecordStore) -> None:
    _add(records, "id-a", T0)
    stored = records.capture_job("id-a")
    assert stored is not None
    assert (stored.state, stored.event_count, stored.created_at) == ("running", 3, T0)

    claim = records.claim_capture_job(T0, T0 + LEASE)
    assert claim is not None
    assert (claim.id, claim.document, claim.behaviour) == ("id-a", '{"job": "id-a"}', "rollback")
    assert records.claim_capture_job(T0 + timedelta(seconds=1), T0 + LEASE) is None  # leased

    warning = JobIssue(index=1, field="parentID", reason="unknown", code="unknown_parent")
    outcome = _success(T0 + timedelta(seconds=2)).model_copy(update={"warnings": (warning,)})
    assert records.finish_capture_job("id-a", claim.claim, outcome)
    assert not records.finish_capture_job("id-a", claim.claim, outcome)  # once
    done = records.capture_job("id-a")
    assert done is not None
    assert (done.state, done.captured, done.created) == ("success", 3, 2)
    assert done.finished_at == T0 + timedelta(seconds=2)
    assert done.warnings == (warning,)
    assert records.claim_capture_job(T0 + 2 * LEASE, T0 + 3 * LEASE) is None  # nothing left


def test_a_job_whose_lease_ran_out_is_taken_over_and_the_first_claim_cannot_finish(
    records: RecordStore,
) -> None:
    _add(records, "id-a", T0)
    first = records.claim_capture_job(T0, T0 + LEASE)
    assert first is not None
    # Its worker was killed: once the lease has run out another worker takes the job.
    later = T0 + LEASE + timedelta(seconds=1)
    second = records.claim_capture_job(later, later + LEASE)
    assert second is not None
    assert second.id == "id-a"
    assert second.document == first.document  # kept until the job is finished
    assert not records.finish_capture_job("id-a", first.claim, _success(later))
    failure = JobOutcome(
        state="failure",
        finished_at=later,
        captured=0,
        created=0,
        errors=(JobIssue(index=0, field="bizStep", reason="not CBV"),),
    )
    assert records.finish_capture_job("id-a", second.claim, failure)
    done = records.capture_job("id-a")
    assert done is not None
    assert done.state == "failure"
    assert done.errors == (JobIssue(index=0, field="bizStep", reason="not CBV"),)


def test_a_released_job_is_claimable_at_once_oldest_first(records: RecordStore) -> None:
    _add(records, "id-new", T0 + timedelta(seconds=5))
    _add(records, "id-old", T0)
    claim = records.claim_capture_job(T0 + timedelta(seconds=6), T0 + LEASE)
    assert claim is not None
    assert claim.id == "id-old"
    records.release_capture_job(claim.id, claim.claim)
    again = records.claim_capture_job(T0 + timedelta(seconds=7), T0 + LEASE)
    assert again is not None
    assert again.id == "id-old"
    other = records.claim_capture_job(T0 + timedelta(seconds=7), T0 + LEASE)
    assert other is not None
    assert other.id == "id-new"


def test_jobs_are_listed_newest_first_per_source_with_keyset_pages(
    records: RecordStore,
) -> None:
    for n in range(5):
        _add(records, f"id-{n}", T0 + timedelta(seconds=n))
    _add(records, "id-same", T0 + timedelta(seconds=4))  # same time: ordered by id
    _add(records, "id-theirs", T0, source="erp-2")
    seen: list[str] = []
    before = None
    while True:
        page = records.capture_jobs(source="erp-1", before=before, limit=2)
        seen += [job.id for job in page]
        if len(page) < 2:
            break
        before = (page[-1].created_at, page[-1].id)
    assert seen == ["id-same", "id-4", "id-3", "id-2", "id-1", "id-0"]
    everyone = records.capture_jobs(every_source=True, limit=100)
    assert {job.id for job in everyone} == {*seen, "id-theirs"}


def test_each_claim_is_counted_and_a_released_claim_is_not(records: RecordStore) -> None:
    """The count lets the worker fail a job whose capture kills its process (finding 1):
    a claim whose lease ran out counts, one given back after an outage does not."""
    _add(records, "id-a", T0)
    first = records.claim_capture_job(T0, T0 + LEASE)
    assert first is not None
    assert first.attempts == 1
    records.release_capture_job(first.id, first.claim)  # an outage: not the job's fault
    again = records.claim_capture_job(T0, T0 + LEASE)
    assert again is not None
    assert again.attempts == 1
    later = T0 + LEASE + timedelta(seconds=1)  # its worker died: the lease ran out
    taken_over = records.claim_capture_job(later, later + LEASE)
    assert taken_over is not None
    assert taken_over.attempts == 2


def test_running_jobs_are_counted_per_source(records: RecordStore) -> None:
    for n in range(3):
        _add(records, f"id-{n}", T0 + timedelta(seconds=n))
    _add(records, "id-theirs", T0, source="erp-2")
    _add(records, "id-anonymous", T0, source=None)
    assert records.running_capture_jobs("erp-1") == 3
    claim = records.claim_capture_job(T0 + timedelta(seconds=5), T0 + LEASE)
    assert claim is not None
    assert claim.id in ("id-0", "id-theirs", "id-anonymous")
    assert records.finish_capture_job(claim.id, claim.claim, _success(T0 + LEASE))
    counts = {s: records.running_capture_jobs(s) for s in ("erp-1", "erp-2", None)}
    assert sum(counts.values()) == 4
    assert records.running_capture_jobs("erp-3") == 0


def test_a_value_the_database_refuses_is_no_outage(
    records: RecordStore, request: pytest.FixtureRequest
) -> None:
    """PostgreSQL refuses a NUL in text (a data exception, SQLSTATE 22): that is the
    value's fault, so it is ``RecordRefused``, never ``StoreUnavailable`` (which the
    worker retries). SQLite takes it."""
    if request.node.callspec.params["records"] == "sqlite":
        _add(records, "id-\x00", T0)
        assert records.capture_job("id-\x00") is not None
        return
    with pytest.raises(RecordRefused, match="refused a value"):
        _add(records, "id-\x00", T0)
