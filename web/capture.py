"""EPCIS 2.0 capture per the REST binding: ``POST /capture`` and its capture jobs.

* ``POST /capture`` — an EPCISDocument (or EPCISQueryDocument) as JSON-LD
  (``application/json``, ``application/ld+json``) or XML (``application/xml``,
  ``text/xml``); header ``GS1-Capture-Error-Behaviour`` ``rollback`` (default, all or
  nothing) or ``proceed`` (anything else: 400, ``all`` too: the binding reserves it for
  the server's announcement, which ``OPTIONS`` sends). At most
  ``GS1-EPCIS-Capture-Limit`` events and ``GS1-EPCIS-Capture-File-Size-Limit`` bytes
  (413 before anything is stored; the bytes are cut by ``web.limits.RequestLimits``
  while they arrive), and ``Limits.capture_running`` jobs of one client not captured
  yet (429 with ``Retry-After``). A body
  that is no EPCIS document is refused at once (400 ``ValidationException``); otherwise
  the job is stored durably and the answer is 202 with ``Location: /capture/{id}`` and
  the job as it is now. Its events are captured by the worker
  (``traceability.capturejobs``): the hub's thread, or, in an app nobody started a
  worker for, a background task of the request after the answer.
* ``GET /capture/{captureID}`` — the job (the binding's ``CaptureJob``: ``running``,
  ``success``, ``captureErrorBehaviour``, ``createdAt``, ``finishedAt``, ``errors`` as
  problem details with the event's ``index``, ``field`` and ``reason``), plus tracehub's
  ``warnings`` and counts (``eventCount``, ``captured``, ``created``, ``duplicates``,
  ``rejected``).
* ``GET /capture?perPage=&nextPageToken=`` — the jobs, newest first, with a ``Link``
  ``rel="next"`` while there are more. A client sees the jobs it submitted; ``admin``
  every job.
* ``OPTIONS /capture``, ``OPTIONS /capture/{captureID}`` — discovery: ``Allow``, the
  capture limits, ``GS1-EPCIS-Version`` and ``GS1-CBV-Version``.
* ``/epcis/capture`` — tracehub's route before the binding, kept as an alias of
  ``/capture`` (``POST``, ``OPTIONS``; the same answers).

Parsing (bounded JSON, ``web.jsonbody``; XML, ``gs1.epcis.xml``) and the job's insert
run in a pool of their own threads (``web.offload``), never on the event loop.
"""

from __future__ import annotations

import base64
import binascii
import logging
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gs1.epcis.event import format_time
from gs1.errors import EventRejected
from traceability.capturejobs import (
    JSON_LD,
    XML,
    CaptureJobs,
    epcis_document,
    event_count,
    xml_epcis_document,
)
from traceability.errors import StoreUnavailable
from traceability.records.capturejobs import Behaviour, CaptureJob, JobIssue
from web.access import JSON_TYPES, client_of
from web.errors import JsonRefused
from web.jsonbody import read_json
from web.limits import CAPTURE_LIMIT_EXCEEDED, Limits
from web.offload import Offload
from web.problem import Problem

log = logging.getLogger(__name__)
XML_TYPES = ("application/xml", "text/xml")
VERSIONS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0"}
VALIDATION = "epcisException:ValidationException"
PER_PAGE = 30  # the binding's default
BACKLOG_RETRY_S = 5  # Retry-After of a client over its running jobs
MAX_PER_PAGE = 1000


def job_document(job: CaptureJob) -> dict[str, Any]:
    """The binding's ``CaptureJob`` of ``job``, with tracehub's warnings and counts."""
    document: dict[str, Any] = {
        "captureID": job.id,
        "createdAt": format_time(job.created_at),
        "running": job.state == "running",
        "success": job.state != "failure",
        "captureErrorBehaviour": job.behaviour,
        "errors": [_problem(issue) for issue in job.errors],
    }
    if job.finished_at is not None:
        document["finishedAt"] = format_time(job.finished_at)
    document["eventCount"] = job.event_count
    if job.state != "running":
        captured, created = job.captured or 0, job.created or 0
        document.update(
            captured=captured,
            created=created,
            duplicates=captured - created,
            rejected=sum(1 for issue in job.errors if issue.index is not None),
        )
    document["warnings"] = [issue.model_dump(exclude_none=True) for issue in job.warnings]
    return document


def _problem(issue: JobIssue) -> dict[str, Any]:
    where = "the document" if issue.index is None else f"event {issue.index}"
    return {
        "type": VALIDATION,
        "title": f"{where} was not captured",
        "status": 400,
        "detail": f"{issue.field}: {issue.reason}",
        **issue.model_dump(exclude_none=True),
    }


def capture_routes(jobs: CaptureJobs, limits: Limits | None = None) -> list[Route]:
    """The capture routes (``/capture``, ``/capture/{captureID}``, the ``/epcis/capture``
    alias) over ``jobs``."""
    bounds = limits or Limits()
    advertised = {**bounds.capture_headers(), **VERSIONS}
    receiving = Offload("capture", bounds.capture_workers, bounds.capture_queue)

    def receive(raw: bytes, media_type: str, behaviour: Behaviour, source: str | None) -> Any:
        """Parse, check and store the job (in a worker thread: CPU and database)."""
        try:
            if media_type == XML:
                document = xml_epcis_document(raw)
            else:
                document = epcis_document(read_json(raw, bounds.json_limits))
            text = raw.decode("utf-8")  # kept as sent, for a worker of another process
        except JsonRefused as exc:
            title = "not JSON" if exc.reason.startswith("is not JSON") else "JSON over a limit"
            raise Problem(400, title, str(exc), headers=VERSIONS, type=VALIDATION) from exc
        except EventRejected as exc:
            raise Problem(
                400, "not an EPCIS document", str(exc), headers=VERSIONS, type=VALIDATION
            ) from exc
        except UnicodeDecodeError as exc:
            raise Problem(
                400, "not UTF-8", f"the body is not UTF-8: {exc}", headers=VERSIONS
            ) from exc
        count = event_count(document)
        if count > bounds.capture_events:
            raise Problem(
                413,
                "Capture Payload too large",
                f"the document has {count} events; the limit is {bounds.capture_events} "
                "per request: split the document",
                headers=advertised,
                type=CAPTURE_LIMIT_EXCEEDED,
            )
        try:
            backlog = jobs.running(source)
            if backlog >= bounds.capture_running:
                raise Problem(
                    429,
                    "too many capture jobs running",
                    f"{backlog} of your capture jobs are not captured yet; the limit is "
                    f"{bounds.capture_running} per client: wait for them "
                    "(GET /capture) and send this document again",
                    headers={"Retry-After": str(BACKLOG_RETRY_S), **VERSIONS},
                )
            return jobs.submit(
                document, text, media_type=media_type, behaviour=behaviour, source=source
            )
        except StoreUnavailable as exc:
            raise Problem(
                503, "records unavailable", str(exc), headers={"Retry-After": "1"}
            ) from exc

    async def capture_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":  # EPCIS capture endpoint discovery
            allow = "OPTIONS, POST" if request.url.path != "/capture" else "OPTIONS, POST, GET"
            return Response(
                status_code=204,
                headers={"Allow": allow, "GS1-Capture-Error-Behaviour": "all", **advertised},
            )
        if request.method == "GET":
            return list_jobs(request)
        media_type = _media_type(request)  # before the body is read
        behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback").lower()
        if behaviour not in ("rollback", "proceed"):
            # The binding's third value, "all", is "to be used only by the server to
            # announce it supports both" (OPTIONS): a request must choose one.
            chosen = " ('all' is what a server announces)" if behaviour == "all" else ""
            raise Problem(
                400,
                "bad header",
                f"GS1-Capture-Error-Behaviour: {behaviour!r}{chosen}; send rollback or proceed",
                headers=VERSIONS,
                type=VALIDATION,
            )
        raw = await request.body()  # bounded by web.limits.RequestLimits
        client = client_of(request)
        job: CaptureJob = await receiving.run(
            receive, raw, media_type, behaviour, None if client is None else client.name
        )
        # No worker of this process (a bare app, a test): capture after answering.
        later = None if jobs.started else BackgroundTask(anyio.to_thread.run_sync, drain)
        return JSONResponse(
            job_document(job),
            202,
            headers={"Location": f"/capture/{job.id}", **advertised},
            background=later,
        )

    def drain() -> None:
        try:
            jobs.drain()
        except StoreUnavailable as exc:  # the job stays running: the next drain takes it
            log.warning("capture jobs postponed: %s", exc)

    def visible(request: Request, job: CaptureJob | None) -> CaptureJob:
        client = client_of(request)
        admin = client is not None and "admin" in client.scopes
        if job is None or not (admin or job.source == (client.name if client else None)):
            raise Problem(404, "unknown capture job", "no capture job of yours has this id")
        return job

    def job_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "OPTIONS, GET", **VERSIONS})
        try:
            job = jobs.job(request.path_params["captureID"])
        except StoreUnavailable as exc:
            raise Problem(503, "records unavailable", str(exc)) from exc
        return JSONResponse(job_document(visible(request, job)), headers=VERSIONS)

    def list_jobs(request: Request) -> Response:
        per_page = _per_page(request)
        before = _token(request.query_params.get("nextPageToken"))
        client = client_of(request)
        try:
            found = jobs.recent(
                source=None if client is None else client.name,
                every_source=client is not None and "admin" in client.scopes,
                before=before,
                limit=per_page + 1,
            )
        except StoreUnavailable as exc:
            raise Problem(503, "records unavailable", str(exc)) from exc
        page, more = found[:per_page], len(found) > per_page
        headers = dict(VERSIONS)
        if more:
            last = page[-1]
            query = urlencode({"perPage": per_page, "nextPageToken": _next_token(last)})
            headers["Link"] = f'</capture?{query}>; rel="next"'
        return JSONResponse([job_document(job) for job in page], headers=headers)

    return [
        Route("/capture", capture_endpoint, methods=["GET", "POST", "OPTIONS"]),
        Route("/capture/{captureID}", job_endpoint, methods=["GET", "OPTIONS"]),
        Route("/epcis/capture", capture_endpoint, methods=["POST", "OPTIONS"]),
    ]


def _media_type(request: Request) -> str:
    """JSON_LD or XML by ``Content-Type``; 415 for anything else. A form or text/plain
    (what a browser sends cross-site without asking first) is never taken as a write."""
    declared = request.headers.get("content-type", "")
    media, *params = (part.strip().lower() for part in declared.split(";"))
    extra = [p for p in params if p.replace(" ", "") not in ("charset=utf-8", 'charset="utf-8"')]
    if not extra:
        if media in JSON_TYPES:
            return JSON_LD
        if media in XML_TYPES:
            return XML
    accepted = (*JSON_TYPES, *XML_TYPES)
    raise Problem(
        415,
        "unsupported media type",
        f"Content-Type: {declared or 'none'!r} is not accepted; send the EPCISDocument as "
        f"{', '.join(repr(t) for t in accepted)} (UTF-8)",
        headers={"Accept-Post": ", ".join(accepted)},
    )


def _per_page(request: Request) -> int:
    value = request.query_params.get("perPage", str(PER_PAGE))
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PER_PAGE:
        raise Problem(
            400,
            "bad query parameter",
            f"perPage: {value[:20]!r}; give a whole number from 1 to {MAX_PER_PAGE}",
            type="epcisException:QueryParameterException",
        )
    return int(value)


def _next_token(job: CaptureJob) -> str:
    key = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(key).decode("ascii").rstrip("=")


def _token(value: str | None) -> tuple[datetime, str] | None:
    """The keyset a ``nextPageToken`` carries (the last job of the page before)."""
    if value is None:
        return None
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
        moment, _, job_id = text.partition("|")
        at = datetime.fromisoformat(moment)
        if at.tzinfo is None or not job_id:
            raise ValueError("no time zone or no id")
        at.astimezone(UTC)  # 0001-01-01T00:00+14:00 has no UTC time: OverflowError
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise Problem(
            400,
            "bad query parameter",
            "nextPageToken: not a token this server gave; follow the Link header's next URL",
            type="epcisException:QueryParameterException",
        ) from exc
    return at, job_id
