"""Capture jobs of the EPCIS REST binding (``POST /capture``): the document kept until it
is processed, then the job's outcome (errors and warnings per event).

A job's life, each step one short transaction:

1. ``add_capture_job`` stores the document as sent (``running``, no lease): the 202 is
   answered only after this commit, so an accepted document survives a crash.
2. ``claim_capture_job`` leases the oldest running job nobody holds (``claimed_until``,
   also the claim's token) and counts the claim (``attempts``: the worker fails a job
   claimed too often, so a job that kills its process is not retried forever); a job
   whose lease ran out (its worker was killed) is claimed again. The records DB is
   shared by replicas: the conditional update is the arbiter, one claimer wins.
3. ``finish_capture_job`` records the outcome and clears the document, only while the
   job is still running and held by that claim: a worker whose lease ran out while a
   second one finished the job changes nothing (re-capturing was idempotent anyway,
   events are keyed by their hash id). ``release_capture_job`` gives the lease back
   (the records failed mid-job: retry soon rather than after the lease) and uncounts
   the claim: an outage is not the job's fault.

``capture_jobs`` lists jobs newest first with keyset paging on ``(created_at, id)``;
``running_capture_jobs`` counts a client's running ones (``POST /capture`` bounds them).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict

from traceability.records.database import Database, from_db, to_db
from traceability.records.schema import capture_jobs

JobState = Literal["running", "success", "failure"]
Behaviour = Literal["rollback", "proceed"]


class JobIssue(BaseModel):
    """An error (the event was not captured) or a warning (captured, with a note) of one
    event of the job's document; ``index`` None for the document as a whole."""

    model_config = ConfigDict(frozen=True)

    index: int | None = None
    field: str
    reason: str
    code: str | None = None  # warnings: unknown_parent, unknown_lot, ...


class CaptureJob(BaseModel):
    """A capture job as the records keep it (without its document)."""

    model_config = ConfigDict(frozen=True)

    id: str
    state: JobState
    behaviour: Behaviour
    source: str | None
    media_type: str
    created_at: AwareDatetime
    finished_at: AwareDatetime | None = None
    event_count: int | None = None
    captured: int | None = None  # stored now or known before
    created: int | None = None  # new to the repository
    errors: tuple[JobIssue, ...] = ()
    warnings: tuple[JobIssue, ...] = ()


class ClaimedJob(BaseModel):
    """A leased job with its document; ``claim`` is the token ``finish`` needs."""

    model_config = ConfigDict(frozen=True)

    id: str
    behaviour: Behaviour
    source: str | None
    media_type: str
    document: str
    claim: AwareDatetime
    created_at: AwareDatetime
    event_count: int | None = None
    attempts: int = 1  # claims so far, this one included

    def finished(self, outcome: JobOutcome) -> CaptureJob:
        """The job as ``finish_capture_job(outcome)`` left it (no read back needed)."""
        return CaptureJob(
            id=self.id,
            state=outcome.state,
            behaviour=self.behaviour,
            source=self.source,
            media_type=self.media_type,
            created_at=self.created_at,
            finished_at=outcome.finished_at,
            event_count=self.event_count,
            captured=outcome.captured,
            created=outcome.created,
            errors=outcome.errors,
            warnings=outcome.warnings,
        )


class JobOutcome(BaseModel):
    """What capturing a job's document came to."""

    model_config = ConfigDict(frozen=True)

    state: Literal["success", "failure"]
    finished_at: AwareDatetime
    captured: int
    created: int
    errors: tuple[JobIssue, ...] = ()
    warnings: tuple[JobIssue, ...] = ()


_LISTED = [c for c in capture_jobs.c if c.name != "document"]


class CaptureJobRecords(Database):
    """The ``capture_jobs`` table."""

    def add_capture_job(
        self,
        job_id: str,
        *,
        behaviour: Behaviour,
        source: str | None,
        media_type: str,
        document: str,
        event_count: int,
        created_at: datetime,
    ) -> CaptureJob:
        """Store a new running job with its document (committed when this returns)."""
        with self._tx() as conn:
            conn.execute(
                capture_jobs.insert().values(
                    id=job_id,
                    state="running",
                    behaviour=behaviour,
                    source=source,
                    media_type=media_type,
                    document=document,
                    created_at=to_db(created_at),
                    event_count=event_count,
                )
            )
        return CaptureJob(
            id=job_id,
            state="running",
            behaviour=behaviour,
            source=source,
            media_type=media_type,
            created_at=created_at,
            event_count=event_count,
        )

    def capture_job(self, job_id: str) -> CaptureJob | None:
        with self._tx() as conn:
            row = conn.execute(sa.select(*_LISTED).where(capture_jobs.c.id == job_id)).first()
        return None if row is None else _job(row._asdict())

    def capture_jobs(
        self,
        *,
        source: str | None = None,
        every_source: bool = False,
        before: tuple[datetime, str] | None = None,
        limit: int = 30,
    ) -> list[CaptureJob]:
        """Jobs newest first: those of ``source`` (or all with ``every_source``), older
        than the ``(created_at, id)`` keyset ``before`` (the last one of the page before)."""
        query = sa.select(*_LISTED)
        if not every_source:
            query = query.where(capture_jobs.c.source == source)
        if before is not None:
            at, last = to_db(before[0]), before[1]
            query = query.where(
                sa.or_(
                    capture_jobs.c.created_at < at,
                    sa.and_(capture_jobs.c.created_at == at, capture_jobs.c.id < last),
                )
            )
        query = query.order_by(capture_jobs.c.created_at.desc(), capture_jobs.c.id.desc())
        with self._tx() as conn:
            rows = conn.execute(query.limit(limit)).all()
        return [_job(row._asdict()) for row in rows]

    def running_capture_jobs(self, source: str | None) -> int:
        """How many jobs of ``source`` are still running (the per-client backlog)."""
        where = (
            capture_jobs.c.source.is_(None) if source is None else capture_jobs.c.source == source
        )
        query = (
            sa.select(sa.func.count())
            .select_from(capture_jobs)
            .where(capture_jobs.c.state == "running", where)
        )
        with self._tx() as conn:
            return int(conn.execute(query).scalar_one())

    def claim_capture_job(self, now: datetime, until: datetime) -> ClaimedJob | None:
        """Lease the oldest running job that is free at ``now`` until ``until``."""
        moment, token = to_db(now), to_db(until)
        free = sa.or_(
            capture_jobs.c.claimed_until.is_(None), capture_jobs.c.claimed_until <= moment
        )
        running = capture_jobs.c.state == "running"
        with self._tx() as conn:
            for _ in range(5):  # another replica may win the one we picked: pick again
                row = conn.execute(
                    sa.select(capture_jobs.c.id)
                    .where(running, free)
                    .order_by(capture_jobs.c.created_at, capture_jobs.c.id)
                    .limit(1)
                ).first()
                if row is None:
                    return None
                won = conn.execute(
                    capture_jobs.update()
                    .where(capture_jobs.c.id == row.id, running, free)
                    .values(claimed_until=token, attempts=capture_jobs.c.attempts + 1)
                ).rowcount
                if not won:
                    continue
                job = conn.execute(
                    sa.select(
                        capture_jobs.c.behaviour,
                        capture_jobs.c.source,
                        capture_jobs.c.media_type,
                        capture_jobs.c.document,
                        capture_jobs.c.created_at,
                        capture_jobs.c.event_count,
                        capture_jobs.c.attempts,
                    ).where(capture_jobs.c.id == row.id)
                ).one()
                return ClaimedJob(
                    id=row.id,
                    behaviour=job.behaviour,
                    source=job.source,
                    media_type=job.media_type,
                    document=job.document or "",
                    claim=until,
                    created_at=from_db(job.created_at),
                    event_count=job.event_count,
                    attempts=job.attempts,
                )
        return None

    def finish_capture_job(self, job_id: str, claim: datetime, outcome: JobOutcome) -> bool:
        """Record ``outcome`` and drop the document; False (nothing changed) when the job
        is no longer running under this claim (another worker finished it)."""
        with self._tx() as conn:
            done = conn.execute(
                capture_jobs.update()
                .where(
                    capture_jobs.c.id == job_id,
                    capture_jobs.c.state == "running",
                    capture_jobs.c.claimed_until == to_db(claim),
                )
                .values(
                    state=outcome.state,
                    finished_at=to_db(outcome.finished_at),
                    captured=outcome.captured,
                    created=outcome.created,
                    errors=_issues(outcome.errors),
                    warnings=_issues(outcome.warnings),
                    document=None,
                    claimed_until=None,
                )
            ).rowcount
        return bool(done)

    def release_capture_job(self, job_id: str, claim: datetime) -> None:
        """Give the lease back and uncount its claim: the job is claimable again at once."""
        with self._tx() as conn:
            conn.execute(
                capture_jobs.update()
                .where(
                    capture_jobs.c.id == job_id,
                    capture_jobs.c.state == "running",
                    capture_jobs.c.claimed_until == to_db(claim),
                )
                .values(
                    claimed_until=None,
                    attempts=sa.case(
                        (capture_jobs.c.attempts > 0, capture_jobs.c.attempts - 1), else_=0
                    ),
                )
            )


def _issues(issues: tuple[JobIssue, ...]) -> str | None:
    return json.dumps([i.model_dump(exclude_none=True) for i in issues]) if issues else None


def _job(data: dict[str, Any]) -> CaptureJob:
    data.pop("claimed_until", None)
    data.pop("attempts", None)
    data["created_at"] = from_db(data["created_at"])
    if data["finished_at"] is not None:
        data["finished_at"] = from_db(data["finished_at"])
    for key in ("errors", "warnings"):
        data[key] = tuple(JobIssue(**i) for i in json.loads(data[key])) if data[key] else ()
    return CaptureJob(**data)
