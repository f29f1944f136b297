"""EPCIS 2.0 REST binding subset plus tracehub's lot endpoints, mounted by ``web.create_app``.

* ``POST /epcis/capture`` — an EPCISDocument; header ``GS1-Capture-Error-Behaviour``
  ``rollback`` (default, all or nothing) or ``proceed``. 201 with the event ids when all
  were captured, 400 (rollback) or 207 (proceed, some failed) with ``errors`` listing
  ``{index, field, reason}`` per bad event.
* ``GET /epcis/events?epc=&gtin=&lot=&location=&bizStep=&from=&to=&limit=`` — an
  EPCISQueryDocument of the matching events.
* ``GET /lots/{gtin}/{lot}/custody`` · ``/exposure`` · ``/recall`` — JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gs1.epcis.event import EPCIS_CONTEXT, SCHEMA_VERSION, format_time
from gs1.errors import EventRejected, InvalidIdentifier
from traceability.capture import CaptureService
from traceability.coldchain.exposure import ExposureService
from traceability.custody import CustodyService
from traceability.errors import RecordNotFound, StoreUnavailable, TelemetryUnavailable
from traceability.records.store import RecordStore
from web.params import path_lot
from web.problem import Problem

MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def _time(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def api_routes(
    store: RecordStore,
    capture: CaptureService,
    exposure: ExposureService | None,
    on_capture: Callable[[str, str], None] | None = None,
) -> list[Route]:
    """``on_capture(gtin, lot)`` is told of every lot a captured document touched (the
    page cache forgets that lot's pages)."""
    custody = CustodyService(store)

    def touched(document: dict[str, Any]) -> None:
        if on_capture is None:
            return
        events = document.get("epcisBody", {}).get("eventList", [])
        epcs = {
            epc
            for event in events
            if isinstance(event, dict)
            for key in ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
            for epc in event.get(key) or ()
            if isinstance(epc, str)
        }
        for epc in sorted(epcs):
            lot = store.lot_link(epc)
            if lot is not None:
                on_capture(*lot)

    async def capture_endpoint(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise Problem(413, "document too large", f"limit {MAX_DOCUMENT_BYTES} bytes")
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise Problem(400, "not JSON", f"body: {exc}") from exc
        behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback").lower()
        if behaviour not in ("rollback", "proceed"):
            raise Problem(400, "bad header", "GS1-Capture-Error-Behaviour: rollback|proceed")
        if not isinstance(document, dict):
            raise Problem(400, "not an EPCISDocument", "body must be a JSON object")
        try:
            report = capture.capture_document(document, behaviour)  # type: ignore[arg-type]
        except EventRejected as exc:
            raise Problem(400, "not an EPCISDocument", f"{exc.field}: {exc.reason}") from exc
        except StoreUnavailable as exc:
            raise Problem(503, "records unavailable", str(exc)) from exc
        if report.captured:
            await run_in_threadpool(touched, document)
        body = {
            "captured": [{"eventID": o.event_id, "created": o.created} for o in report.captured],
            "errors": [e.model_dump() for e in report.errors],
        }
        status = 201 if report.ok else (400 if behaviour == "rollback" else 207)
        return JSONResponse(body, status)

    def events_endpoint(request: Request) -> Response:
        q = request.query_params
        try:
            found = store.query_events(
                epc=q.get("epc"),
                gtin=q.get("gtin"),
                lot=q.get("lot"),
                location=q.get("location"),
                biz_step=q.get("bizStep"),
                start=_time(request, "from"),
                end=_time(request, "to"),
                limit=min(int(q.get("limit", "1000")), 10_000),
            )
        except (ValueError, InvalidIdentifier) as exc:
            raise Problem(400, "bad query parameter", str(exc)) from exc
        return JSONResponse(
            {
                "@context": [EPCIS_CONTEXT],
                "type": "EPCISQueryDocument",
                "schemaVersion": SCHEMA_VERSION,
                "creationDate": format_time(datetime.now(UTC)),
                "epcisBody": {
                    "queryResults": {
                        "queryName": "SimpleEventQuery",
                        "resultsBody": {
                            "eventList": [
                                {
                                    **e.document(),
                                    "eventID": e.id,
                                    "recordTime": format_time(e.captured_at),
                                }
                                for e in found
                            ]
                        },
                    }
                },
            }
        )

    def custody_endpoint(request: Request) -> Response:
        gtin, lot = path_lot(request)
        timeline = custody.lot_timeline(gtin, lot)
        return JSONResponse(json.loads(timeline.model_dump_json()))

    def recall_endpoint(request: Request) -> Response:
        gtin, lot = path_lot(request)
        where = custody.where_now(gtin, lot)
        made_from = {epc: custody.trace_forward(epc) for epc in where}
        return JSONResponse(
            {
                "gtin": gtin,
                "lot": lot,
                "units": [{"epc": e, "location": loc} for e, loc in sorted(where.items())],
                "derived": {k: v for k, v in made_from.items() if v},
            }
        )

    def exposure_endpoint(request: Request) -> Response:
        if exposure is None:
            raise Problem(503, "exposure unavailable", "no telemetry configured")
        gtin, lot = path_lot(request)
        try:
            result = exposure.exposure(gtin, lot)
        except RecordNotFound as exc:
            raise Problem(404, "unknown product", str(exc)) from exc
        except TelemetryUnavailable as exc:
            raise Problem(503, "telemetry unavailable", str(exc)) from exc
        return JSONResponse(json.loads(result.model_dump_json()))

    return [
        Route("/epcis/capture", capture_endpoint, methods=["POST"]),
        Route("/epcis/events", events_endpoint),
        Route("/lots/{gtin}/{lot}/custody", custody_endpoint),
        Route("/lots/{gtin}/{lot}/recall", recall_endpoint),
        Route("/lots/{gtin}/{lot}/exposure", exposure_endpoint),
    ]
