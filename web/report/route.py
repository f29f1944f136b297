"""``GET /auditor/lots/{gtin}/{lot}/report.pdf``: the lot's temperature report as PDF.

Served to API clients with the ``auditor`` scope (``web.app`` protects the route): the
report names probes and place URNs the consumer page keeps to itself. The QR code on it
is the lot's GS1 Digital Link on the host the request came to (``web.access`` has held
that host against the public URL).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from traceability.records.store import RecordStore
from web.apioperation import Answer, Body, Operation, Param
from web.params import path_lot
from web.problem import Problem
from web.qr import link
from web.report.document import MEDIA_TYPE, ReportUnrendered
from web.report.rendering import ReportPdfs

PATH = "/auditor/lots/{gtin}/{lot}/report.pdf"
PLACE_PATH = "/auditor/places/{urn}/report.pdf"
EXAMPLE = "2026-11-01T00:00:00Z"
MAX_PLACE_PERIOD = timedelta(days=92)  # a quarter: the exact exposure reads every reading
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


PLACE_REPORT_OPERATION = Operation(  # its entry in web.apicatalog
    summary="A storage place's temperature report (PDF) over a period (at most 92 days).",
    description=(
        "The readings of the place's probes against the band (the one asked, else the "
        "strictest of the products stored there in the period), min/max/mean/MKT, time out "
        "of range, each excursion with its probe, the incidents there with their "
        "dispositions from their signed steps, the probes with their calibration, the lots "
        "that were there, and how much of the period sealed, anchored telemetry proves."
    ),
    tags=("Auditor",),
    params=(
        Param(name="from", description="the period's start (RFC 3339, required)"),
        Param(name="to", description="the period's end (RFC 3339, required)"),
        Param(name="min", description="the band's minimum, °C", schema_={"type": "number"}),
        Param(name="max", description="the band's maximum, °C", schema_={"type": "number"}),
    ),
    answers={
        200: Answer(
            description="the report, A4",
            body=Body(media=(MEDIA_TYPE,), schema_={"type": "string", "format": "binary"}),
        )
    },
    errors={
        400: "a missing or malformed parameter, a period over 92 days",
        404: "the place is not in the records",
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

    async def place_report(request: Request) -> Response:
        urn = request.path_params["urn"]
        known = await run_in_threadpool(store.locations)
        if urn not in {place.urn for place in known}:
            raise Problem(404, "unknown place", f"place {urn} is not in the records")
        start, end, band = place_query(request.query_params)
        try:
            pdf = await reports.render_place(urn, start, end, band)
        except ReportUnrendered as exc:
            raise Problem(503, "report not rendered", str(exc)) from exc
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"temperature-report-{urn}-{start:%Y%m%d}.pdf")
        return Response(
            pdf,
            media_type=MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )

    return [
        Route(PATH, report, methods=["GET"]),
        Route(PLACE_PATH, place_report, methods=["GET"]),
    ]


def place_query(
    params: Mapping[str, str],
) -> tuple[datetime, datetime, tuple[float | None, float | None]]:
    """``from``, ``to`` (RFC 3339, at most ``MAX_PLACE_PERIOD`` apart) and the optional
    band ``min``/``max`` (°C); anything else, or a malformed value, is a 400 naming it."""
    unknown = sorted(set(params) - {"from", "to", "min", "max"})
    if unknown:
        raise Problem(400, "bad parameter", f"{unknown[0]}: not a parameter (from, to, min, max)")
    start, end = _instant(params, "from"), _instant(params, "to")
    if end <= start:
        raise Problem(400, "bad parameter", "to: must be after from")
    if end - start > MAX_PLACE_PERIOD:
        raise Problem(400, "bad parameter", f"to: at most {MAX_PLACE_PERIOD.days} days after from")
    low, high = _celsius(params, "min"), _celsius(params, "max")
    if low is not None and high is not None and low >= high:
        raise Problem(400, "bad parameter", "max: must be above min")
    return start, end, (low, high)


def _instant(params: Mapping[str, str], name: str) -> datetime:
    text = params.get(name)
    if not text:
        raise Problem(
            400, "bad parameter", f"{name}: give an RFC 3339 time, e.g. 2026-11-01T00:00:00Z"
        )
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Problem(
            400, "bad parameter", f"{name}: {text[:40]!r} is not an RFC 3339 time"
        ) from None
    if moment.tzinfo is None:
        raise Problem(400, "bad parameter", f"{name}: give the offset (Z or +01:00)")
    return moment.astimezone(UTC)


def _celsius(params: Mapping[str, str], name: str) -> float | None:
    text = params.get(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise Problem(400, "bad parameter", f"{name}: {text[:20]!r} is not a number (°C)") from None
    if not -100 <= value <= 150:
        raise Problem(400, "bad parameter", f"{name}: {value} °C is outside -100..150")
    return value
