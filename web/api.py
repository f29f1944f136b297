"""EPCIS 2.0 REST binding subset plus tracehub's lot endpoints, mounted by ``web.create_app``.

* ``POST /epcis/capture`` — an EPCISDocument; header ``GS1-Capture-Error-Behaviour``
  ``rollback`` (default, all or nothing) or ``proceed``. 201 with the event ids when all
  were captured, 400 (rollback) or 207 (proceed, some failed) with ``errors`` listing
  ``{index, field, reason}`` per bad event. At most ``GS1-EPCIS-Capture-Limit`` events
  and ``GS1-EPCIS-Capture-File-Size-Limit`` bytes (413 beyond; both headers are sent
  with every answer and by ``OPTIONS /epcis/capture``). The body is read by the bounded
  JSON reader (``web.jsonbody``) and captured in a pool of its own threads
  (``web.offload``): parsing, schema checks and hashing never run on the event loop.
* ``GET /epcis/events?epc=&gtin=&lot=&location=&bizStep=&from=&to=&limit=`` — an
  EPCISQueryDocument of the matching events.
* ``GET /lots/{gtin}/{lot}/custody`` · ``/exposure`` · ``/recall`` — JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

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
from web.access import require_json, source_of
from web.errors import JsonRefused
from web.jsonbody import read_json
from web.limits import CAPTURE_LIMIT_EXCEEDED, Limits
from web.offload import Offload
from web.params import path_lot
from web.problem import Problem


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
    limits: Limits | None = None,
) -> list[Route]:
    """``on_capture(gtin, lot)`` is told of every lot a captured document touched (the
    page cache forgets that lot's pages)."""
    custody = CustodyService(store)
    bounds = limits or Limits()
    advertised = bounds.capture_headers()
    captures = Offload("capture", bounds.capture_workers, bounds.capture_queue)

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

    def parse(raw: bytes) -> dict[str, Any]:
        """The document of ``raw``, within the JSON and events-per-request limits."""
        try:
            document = read_json(raw, bounds.json_limits)
        except JsonRefused as exc:
            title = "not JSON" if exc.reason.startswith("is not JSON") else "JSON over a limit"
            raise Problem(400, title, str(exc)) from exc
        if not isinstance(document, dict):
            raise Problem(400, "not an EPCISDocument", "body must be a JSON object")
        body = document.get("epcisBody")
        events = body.get("eventList") if isinstance(body, Mapping) else None
        if isinstance(events, list) and len(events) > bounds.capture_events:
            raise Problem(
                413,
                "Capture Payload too large",
                f"epcisBody.eventList has {len(events)} events; the limit is "
                f"{bounds.capture_events} per request: split the document",
                headers=advertised,
                type=CAPTURE_LIMIT_EXCEEDED,
            )
        return document

    def capture_raw(raw: bytes, behaviour: str, source: Any) -> Any:
        """Parse and capture (in a worker thread: it is all CPU and database)."""
        document = parse(raw)
        try:
            report = capture.capture_document(
                document,
                behaviour,  # type: ignore[arg-type]
                source=source,
            )
        except EventRejected as exc:
            raise Problem(400, "not an EPCISDocument", f"{exc.field}: {exc.reason}") from exc
        except StoreUnavailable as exc:
            raise Problem(503, "records unavailable", str(exc)) from exc
        if report.captured:
            touched(document)
        return report

    async def capture_endpoint(request: Request) -> Response:
        if request.method == "OPTIONS":  # EPCIS capture endpoint discovery
            return Response(status_code=204, headers={"Allow": "OPTIONS, POST", **advertised})
        require_json(request)  # before the body is read: a form or text/plain never writes
        raw = await request.body()  # bounded by web.limits.RequestLimits
        behaviour = request.headers.get("GS1-Capture-Error-Behaviour", "rollback").lower()
        if behaviour not in ("rollback", "proceed"):
            raise Problem(400, "bad header", "GS1-Capture-Error-Behaviour: rollback|proceed")
        report = await captures.run(capture_raw, raw, behaviour, source_of(request))
        body = {
            "captured": [{"eventID": o.event_id, "created": o.created} for o in report.captured],
            "errors": [e.model_dump() for e in report.errors],
        }
        status = 201 if report.ok else (400 if behaviour == "rollback" else 207)
        return JSONResponse(body, status, headers=advertised)

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
        Route("/epcis/capture", capture_endpoint, methods=["POST", "OPTIONS"]),
        Route("/epcis/events", events_endpoint),
        Route("/lots/{gtin}/{lot}/custody", custody_endpoint),
        Route("/lots/{gtin}/{lot}/recall", recall_endpoint),
        Route("/lots/{gtin}/{lot}/exposure", exposure_endpoint),
    ]
