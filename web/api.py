"""EPCIS 2.0 REST binding subset plus tracehub's lot endpoints, mounted by ``web.create_app``.

Capture (``POST /capture`` and its ``/epcis/capture`` alias) is ``web.capture``.

The EPCIS query (``GET /events``, its ``/epcis/events`` alias and the resource
endpoints) is ``web.epcisquery``.

* ``GET /lots/{gtin}/{lot}/custody`` · ``/exposure`` · ``/recall`` — JSON.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from traceability.coldchain.exposure import ExposureService
from traceability.custody import CustodyService
from traceability.errors import RecordNotFound, TelemetryUnavailable
from traceability.records.store import RecordStore
from web.params import path_lot
from web.problem import Problem


def api_routes(store: RecordStore, exposure: ExposureService | None) -> list[Route]:
    custody = CustodyService(store)

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
        Route("/lots/{gtin}/{lot}/custody", custody_endpoint),
        Route("/lots/{gtin}/{lot}/recall", recall_endpoint),
        Route("/lots/{gtin}/{lot}/exposure", exposure_endpoint),
    ]
