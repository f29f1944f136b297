"""Capture jobs: a document accepted now, captured by a worker, its outcome kept.

The EPCIS REST binding answers ``POST /capture`` with 202 and a job; this module is
that job's path, between the web edge and ``CaptureService.capture_document``:

* ``epcis_document(value)`` (pure): the EPCISDocument a capture takes, from a parsed
  JSON-LD body (an ``EPCISQueryDocument``'s result events too) or an XML one
  (``xml_epcis_document``); a body that is no EPCIS document is refused at once
  (``EventRejected``), before any job exists.
* ``CaptureJobs.submit`` stores the job with the document as sent (durable when it
  returns) and wakes the worker. The parsed document is kept in memory for the worker
  of this process, so a document is parsed once; a job left by another process (or a
  killed one) is parsed again from its stored text.
* The worker (``start()``/``stop()``, a supervised thread: capture is CPU-bound and must
  not run on the event loop) claims the oldest running job with a lease, captures it
  in one transaction, records the outcome and clears the document. It is woken by a
  submit and polls every ``poll_s`` for jobs whose lease ran out (their process was
  killed): such a job is captured again from the start, which is idempotent (events
  are keyed by their hash id). ``drain()`` does the same work in the caller's thread
  (the web app without a started worker runs it after answering).
* A document that makes capture raise something unexpected (a poison document), or
  whose values the records database refuses (``RecordRefused``), fails its job with
  the reason; the worker goes on. ``StoreUnavailable`` (the records or the ledger
  failed) leaves the job running: it is retried after ``retry_s`` (that claim is not
  counted). A job claimed ``max_attempts`` times without finishing (its capture killed
  the process each time) is failed at its next claim, so no job is retried forever.
* ``on_captured(gtin, lot)`` is told of every lot a finished job's events touched (the
  page cache forgets that lot's pages).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from gs1.epcis.xmlcapture import xml_capture_document
from gs1.errors import EventRejected
from supervision.supervisor import Component, Supervisor
from traceability.capture import CaptureReport, CaptureService
from traceability.errors import RecordRefused, StoreUnavailable
from traceability.records.capturejobs import (
    Behaviour,
    CaptureJob,
    ClaimedJob,
    JobIssue,
    JobOutcome,
)
from traceability.records.store import RecordStore

log = logging.getLogger(__name__)

COMPONENT = "capture-jobs"  # its name in the supervisor's report
JSON_LD = "application/ld+json"
XML = "application/xml"


def epcis_document(value: Any) -> dict[str, Any]:
    """The EPCISDocument to capture from a parsed JSON body; an EPCISQueryDocument gives
    its result events. Raises ``EventRejected`` naming what makes it no document."""
    if not isinstance(value, dict):
        raise EventRejected("document", "must be a JSON object (an EPCISDocument)")
    kind = value.get("type")
    if kind == "EPCISQueryDocument":
        results = (value.get("epcisBody") or {}).get("queryResults") or {}
        events = (results.get("resultsBody") or {}).get("eventList")
        if not isinstance(events, list):
            raise EventRejected(
                "epcisBody.queryResults.resultsBody.eventList",
                "is missing; an EPCISQueryDocument carries its events there",
            )
        document = {k: v for k, v in value.items() if k != "epcisBody"}
        document["type"] = "EPCISDocument"
        document["epcisBody"] = {"eventList": events}
        return document
    if kind != "EPCISDocument":
        raise EventRejected(
            "type", f"{kind!r}: capture takes an EPCISDocument or an EPCISQueryDocument"
        )
    body = value.get("epcisBody")
    if not isinstance(body, Mapping) or not isinstance(body.get("eventList"), list):
        raise EventRejected(
            "epcisBody.eventList", "is missing; an EPCISDocument carries its events there"
        )
    return value


def xml_epcis_document(text: str | bytes) -> dict[str, Any]:
    """The JSON-LD EPCISDocument of an EPCIS XML document, as a partner would have sent
    it in JSON (``gs1.epcis.xmlcapture``; capture then checks it with ``syntax="xml"``)."""
    return xml_capture_document(text)


def event_count(document: Mapping[str, Any]) -> int:
    return len(document["epcisBody"]["eventList"])


def decode(text: str, media_type: str) -> dict[str, Any]:
    """A stored job's document, parsed again (the worker of another process)."""
    if media_type == XML:
        return xml_epcis_document(text)
    return epcis_document(json.loads(text))


def outcome_of(report: CaptureReport, finished_at: datetime) -> JobOutcome:
    """The job's outcome: success when no event was refused."""
    warnings = tuple(
        JobIssue(index=w.index, field=w.field, reason=w.reason, code=w.code)
        for w in report.warnings
    )
    return JobOutcome(
        state="failure" if report.errors else "success",
        finished_at=finished_at,
        captured=len(report.captured),
        created=sum(1 for o in report.captured if o.created),
        errors=tuple(
            JobIssue(index=e.index, field=e.field, reason=e.reason) for e in report.errors
        ),
        warnings=warnings,
    )


class CaptureJobs:
    """Submit documents as jobs; a worker captures them (module docstring)."""

    def __init__(
        self,
        store: RecordStore,
        capture: CaptureService,
        *,
        on_captured: Callable[[str, str], None] | None = None,
        on_finished: Callable[[CaptureJob], None] | None = None,
        lease: timedelta = timedelta(seconds=60),
        poll_s: float = 1.0,
        retry_s: float = 1.0,
        keep_parsed: int = 32,
        max_attempts: int = 5,
        clock: Callable[[], datetime] | None = None,
        supervisor: Supervisor | None = None,
    ) -> None:
        """``lease``: how long a claimed job is held before another worker may take it
        (longer than the capture of the largest document). ``keep_parsed``: documents
        kept parsed for this process's worker (beyond, the worker parses again).
        ``on_finished(job)`` is told of each job this process finished. ``max_attempts``:
        claims of a job that never finished (the process died) before it is failed."""
        self._store = store
        self._capture = capture
        self._on_captured = on_captured
        self._on_finished = on_finished
        self._lease = lease
        self._poll_s = poll_s
        self._retry_s = retry_s
        self._keep = keep_parsed
        self._max_attempts = max_attempts
        self._clock = clock or (lambda: datetime.now(UTC))
        self._supervisor = supervisor or Supervisor()
        self._parsed: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._parsed_lock = threading.Lock()
        self._wake = threading.Event()
        self._component: Component | None = None

    # the submitting side ------------------------------------------------------------

    def submit(
        self,
        document: dict[str, Any],
        text: str,
        *,
        media_type: str,
        behaviour: Behaviour,
        source: str | None,
        keep: bool = True,
    ) -> CaptureJob:
        """Store a job for ``document`` (``epcis_document``'s result) sent as ``text``;
        durable when this returns. ``keep``: hand the parsed document to this process's
        worker (False: it reads the stored text, as another process would). Raises
        ``StoreUnavailable``."""
        job = self._store.add_capture_job(
            f"id{uuid.uuid4().hex}",
            behaviour=behaviour,
            source=source,
            media_type=media_type,
            document=text,
            event_count=event_count(document),
            created_at=self._clock(),
        )
        with self._parsed_lock:
            if keep and len(self._parsed) < self._keep:
                self._parsed[job.id] = document
        self._wake.set()
        return job

    def job(self, job_id: str) -> CaptureJob | None:
        return self._store.capture_job(job_id)

    def recent(
        self,
        *,
        source: str | None,
        every_source: bool = False,
        before: tuple[datetime, str] | None = None,
        limit: int = 30,
    ) -> list[CaptureJob]:
        """Jobs newest first (``RecordStore.capture_jobs``)."""
        return self._store.capture_jobs(
            source=source, every_source=every_source, before=before, limit=limit
        )

    def running(self, source: str | None) -> int:
        """How many jobs of ``source`` are not captured yet (its backlog)."""
        return self._store.running_capture_jobs(source)

    @property
    def started(self) -> bool:
        """Whether this process's worker runs (else the caller drives ``drain``)."""
        return self._component is not None

    # the working side ---------------------------------------------------------------

    def process_next(self) -> CaptureJob | None:
        """Claim and capture the oldest free running job; None when there is none.
        Raises ``StoreUnavailable`` (the job stays running and is retried)."""
        now = self._clock()
        claimed = self._store.claim_capture_job(now, now + self._lease)
        if claimed is None:
            return None
        with self._parsed_lock:
            document = self._parsed.pop(claimed.id, None)
        report: CaptureReport | None = None
        if claimed.attempts > self._max_attempts:
            outcome = _failed(self._clock(), _exhausted(claimed.attempts - 1))
        else:
            try:
                report = self._capture_claimed(claimed, document)
            except StoreUnavailable:  # given back: retried after retry_s, uncounted
                raise
            except EventRejected as exc:  # the document as a whole (its type, its body)
                outcome = _failed(
                    self._clock(), JobIssue(index=None, field=exc.field, reason=exc.reason)
                )
            except RecordRefused as exc:  # a value the database will never take
                issue = JobIssue(
                    index=None,
                    field="document",
                    reason=f"the records refused it ({exc}); the document was not captured",
                )
                outcome = _failed(self._clock(), issue)
            except Exception as exc:  # a poison document: fail its job, keep working
                log.exception("capture job %s failed", claimed.id)
                issue = JobIssue(
                    index=None,
                    field="document",
                    reason=f"capture failed unexpectedly ({type(exc).__name__}: {exc}); "
                    "the document was not captured: report it to the site's operator",
                )
                outcome = _failed(self._clock(), issue)
            else:
                outcome = outcome_of(report, self._clock())
        finished = self._store.finish_capture_job(claimed.id, claimed.claim, outcome)
        if report is not None and self._on_captured is not None:
            for gtin, lot in dict.fromkeys(lot for o in report.captured for lot in o.lots):
                self._on_captured(gtin, lot)
        if not finished:  # another worker took it over and finished it first
            return self._store.capture_job(claimed.id) or claimed.finished(outcome)
        job = claimed.finished(outcome)
        if self._on_finished is not None:
            self._on_finished(job)
        return job

    def _capture_claimed(
        self, claimed: ClaimedJob, document: dict[str, Any] | None
    ) -> CaptureReport:
        try:
            if document is None:
                document = decode(claimed.document, claimed.media_type)
            return self._capture.capture_document(
                document,
                claimed.behaviour,
                source=claimed.source,
                syntax="xml" if claimed.media_type == XML else "json",
            )
        except StoreUnavailable:
            self._give_back(claimed, document)
            raise

    def drain(self) -> int:
        """Capture every free running job now, in this thread; how many were done."""
        done = 0
        while self.process_next() is not None:
            done += 1
        return done

    def start(self) -> None:
        if self._component is None:
            self._component = self._supervisor.spawn(COMPONENT, self._run, thread_name=COMPONENT)

    def stop(self) -> None:
        if self._component is not None:
            self._component.stopping.set()
            self._wake.set()
            self._component.stop(timeout=30)
            self._component = None

    def _run(self, component: Component) -> None:
        while not component.stopping.is_set():
            wait = self._poll_s
            # Cleared before the round: a submit during it wakes the next wait at once.
            self._wake.clear()
            try:
                while not component.stopping.is_set() and self.process_next() is not None:
                    pass
            except StoreUnavailable as exc:
                log.warning("capture jobs postponed: %s", exc)
                component.failed(exc)
                wait = self._retry_s
            else:
                component.succeeded()
            self._wake.wait(wait)

    def _give_back(self, claimed: ClaimedJob, document: dict[str, Any] | None) -> None:
        """Keep the parsed document and release the lease, so the retry comes soon (if
        the records are down the release fails too: the lease then runs out)."""
        if document is not None:
            with self._parsed_lock:
                self._parsed[claimed.id] = document
        with contextlib.suppress(StoreUnavailable):
            self._store.release_capture_job(claimed.id, claimed.claim)


def _exhausted(claims: int) -> JobIssue:
    return JobIssue(
        index=None,
        field="document",
        reason=f"captured {claims} times without finishing (the process died or the "
        "records refused it); the document was not captured: split it or report it to "
        "the site's operator",
    )


def _failed(at: datetime, issue: JobIssue) -> JobOutcome:
    return JobOutcome(state="failure", finished_at=at, captured=0, created=0, errors=(issue,))
