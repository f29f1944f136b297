"""``GET /auditor/lots/{gtin}/{lot}/report.pdf``: the lot's temperature report as PDF.

Served to API clients with the ``auditor`` scope (``web.app`` protects the route): the
report names probes and place URNs the consumer page keeps to itself. The QR code on it
is the lot's GS1 Digital Link on the host the request came to (``web.access`` has held
that host against the public URL).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from traceability.records.store import RecordStore
from web.apioperation import Answer, Body, Operation
from web.params import path_lot
from web.problem import Problem
from web.qr import link
from web.report.document import MEDIA_TYPE, ReportUnrendered
from web.report.rendering import ReportPdfs

PATH = "/auditor/lots/{gtin}/{lot}/report.pdf"
REPORT_OPERATION = Operation(  # its entry in web.apicatalog
    summary="The lot's temperature report (PDF): band, MKT, excursions, probes, proof.",
    description=(
        "Readings chart against the band, min/max/MKT, time out of range, each "
        "excursion with its incident and disposition (from their signed steps), the "
        "probes of each stay with their calibration, the anchored batches, and a QR "
        "code of the lot's Digital Link. A record not yet anchored is said so."
    ),
    tags=("Auditor",),
    answers={
        200: Answer(
            description="the report, A4",
            body=Body(media=(MEDIA_TYPE,), schema_={"type": "string", "format": "binary"}),
        )
    },
    errors={
        400: "the GTIN of the path is malformed (its check digit, its length)",
        404: "the lot is not in the records",
        503: "the report could not be rendered, or reports are being rendered (Retry-After)",
    },
)


def report_routes(store: RecordStore, reports: ReportPdfs) -> Sequence[Route]:
    async def report(request: Request) -> Response:
        gtin, lot_id = path_lot(request)
        product = await run_in_threadpool(store.get_product, gtin)
        lot = await run_in_threadpool(store.get_lot, gtin, lot_id)
        if product is None or lot is None:
            raise Problem(404, "unknown lot", f"lot {lot_id} of {gtin} is not in the records")
        base = str(request.base_url).rstrip("/")
        try:
            _, pdf = await reports.render(product, lot, link(base, gtin, lot_id))
        except ReportUnrendered as exc:
            raise Problem(503, "report not rendered", str(exc)) from exc
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"temperature-report-{gtin}-{lot_id}.pdf")
        return Response(
            pdf,
            media_type=MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    return [Route(PATH, report, methods=["GET"])]
