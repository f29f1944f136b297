"""The FSMA 204 sortable spreadsheet for auditors: ``GET /auditor/fsma204`` (scope
``auditor``), the file ``tracehub records fsma204`` writes.

Query: ``from`` and ``to`` (``YYYY-MM-DD``, both days included, at most ``MAX_DAYS``
apart), ``product`` (a GTIN), ``lot`` (with it, the lot's trace one step back and
forward), ``format`` ``csv`` (default) or ``xlsx``. The answer is an attachment named
after the window. Refusals are 400 problems naming the parameter; the work is bounded:
the window's length, the CTE events read (``MAX_EVENTS``), the rows and lots they give
(``MAX_ROWS``, ``MAX_LOTS``) and the time spent (``MAX_SECONDS``, checked inside the
export's loops), beyond any of them a 400 naming ``to`` and never half a file; and one
export at a time in a thread of its own (a few more wait, the rest get 503), so a
hostile request cannot freeze the hub.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Gtin, LotNumber
from traceability.errors import StoreUnavailable
from traceability.fsma.errors import ExportRefused
from traceability.fsma.export import Fsma204Export
from traceability.fsma.sheet import MEDIA_TYPES, Format, sheet_bytes
from traceability.records.store import RecordStore
from web.apioperation import Answer, Body, Operation, Param
from web.offload import Offload
from web.problem import Problem

PATH = "/auditor/fsma204"
MAX_DAYS = 366
MAX_EVENTS = 20_000
MAX_ROWS = 50_000
MAX_LOTS = 20_000
MAX_SECONDS = 60.0
PARAMETERS = frozenset({"from", "to", "product", "lot", "format"})

FSMA_OPERATION = Operation(
    summary="The FDA FSMA 204 electronic sortable spreadsheet: one row per CTE and lot.",
    description=(
        "The Critical Tracking Events (harvesting, cooling, initial packing, first "
        "land-based receiving, shipping, receiving, transformation) of the window, each "
        "with its Key Data Elements under FDA's names and a `Missing KDEs` column; "
        "sorted by lot, then time. With `lot`: the lot's trace, one step back and "
        "forward. The file `tracehub records fsma204` writes (docs/fsma204.md)."
    ),
    tags=("Auditor",),
    params=(
        Param(name="from", description="first day, `YYYY-MM-DD` (the events' local day)"),
        Param(name="to", description="last day, included; at most 366 days after `from`"),
        Param(name="product", description="only this GTIN's lots"),
        Param(name="lot", description="the lot's trace (its CTEs, inputs and outputs)"),
        Param(
            name="format",
            description="`csv` (default, RFC 4180, UTF-8) or `xlsx`",
            schema_={"type": "string", "enum": ["csv", "xlsx"]},
        ),
    ),
    answers={
        200: Answer(
            description="the spreadsheet, as an attachment",
            body=Body(
                media=(
                    "text/csv",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
                schema_={"type": "string", "format": "binary"},
            ),
            headers=("Content-Disposition",),
        )
    },
    errors={
        400: "an unknown parameter, a malformed day, GTIN, lot or format, a window too "
        "long, or more CTE events, rows or lots than one export reads or more time than "
        "it may take (named: ask for a shorter window)",
        503: "busy with other exports (retry), or the records did not answer",
    },
)


def fsma_routes(store: RecordStore, *, workers: int = 1, queue: int = 4) -> list[Route]:
    pool = Offload("FSMA 204 export", workers, queue)
    exporter = Fsma204Export(
        store,
        max_events=MAX_EVENTS,
        max_rows=MAX_ROWS,
        max_lots=MAX_LOTS,
        seconds=MAX_SECONDS,
    )

    async def endpoint(request: Request) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - PARAMETERS)
        if unknown:
            raise Problem(400, "bad query", f"{unknown[0]}: not a parameter of {PATH}")
        start, end = _day(params.get("from"), "from"), _day(params.get("to"), "to")
        if end < start:
            raise Problem(400, "bad query", f"to: {end} is before from {start}")
        if end - start >= timedelta(days=MAX_DAYS):
            raise Problem(400, "bad query", f"to: give a window of at most {MAX_DAYS} days")
        product = _checked(params.get("product"), "product")
        lot = _checked(params.get("lot"), "lot")
        shape = params.get("format", "csv")
        if shape not in MEDIA_TYPES:
            raise Problem(400, "bad query", "format: give csv or xlsx")
        fmt: Format = "xlsx" if shape == "xlsx" else "csv"
        try:
            rows = await pool.run(partial(exporter.rows, start, end, product=product, lot=lot))
        except ExportRefused as exc:
            raise Problem(400, "bad query", str(exc)) from exc
        except StoreUnavailable as exc:
            raise Problem(503, "records unavailable", str(exc)) from exc
        body = await pool.run(sheet_bytes, rows, fmt)
        name = f"fsma204-{start}-{end}{'-' + lot if lot else ''}.{fmt}"
        return Response(
            body,
            media_type=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{_safe(name)}"'},
        )

    return [Route(PATH, endpoint, methods=["GET"])]


def _day(text: str | None, field: str) -> date:
    # fromisoformat alone would take 20260601 and 2026-W23-1 as days too
    if not text or len(text) != 10:
        raise Problem(400, "bad query", f"{field}: give the day as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise Problem(400, "bad query", f"{field}: give the day as YYYY-MM-DD") from exc


def _checked(text: str | None, field: str) -> str | None:
    if not text:
        return None
    try:
        return Gtin.parse(text).value if field == "product" else LotNumber.parse(text).value
    except InvalidIdentifier as exc:
        raise Problem(400, "bad query", f"{field}: {exc.reason}") from exc


def _safe(name: str) -> str:
    """A file name for the header: a lot code may hold quotes or slashes (AI 10 allows)."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)
