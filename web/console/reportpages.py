"""The console's temperature reports of a lot: draft, release (e-signed), released copies.

* ``GET /console/lots/{gtin}/{lot}/report`` — viewer: the lot's released reports (who,
  when, SHA-256, whether the ledger holds the hash) and, for quality and admin, the
  release form, which shows the meaning before anything is signed.
* ``GET …/report/draft.pdf`` — viewer: the report as it would be released now ("Draft:
  not released, not signed" on it).
* ``POST …/report/release`` — quality: password (and TOTP code) checked again by
  ``gate.sign``, then the report is rendered with the signature on it, kept, its hash
  and the numbers it states signed into the lot's stream and the release audited
  (``traceability.reports``); 303 to the released file. A report whose readings changed
  since sealing, or whose temperatures cannot be read, is refused (409,
  ``web.report.rendering``).
* ``GET /console/places/report.pdf?place=URN&from=T&to=T`` — viewer: a storage place's
  report over a period (linked from the recall search's result; ``web.report.placebuild``).
* ``GET /console/reports/{id}.pdf`` — viewer: a released report, byte for byte as signed;
  one that is not what its ledger record signed is refused (409).

Every POST checks the session's CSRF token; a bad GTIN is a 400, an unknown lot a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ledger.errors import LedgerError
from traceability.audit.entry import ESignature
from traceability.errors import RecordConflict, TraceabilityError
from traceability.records.entities import Lot, Product
from traceability.records.store import RecordStore
from traceability.reports.release import ReportReleases, meaning_of
from web.console.formdata import form_of
from web.console.gate import ConsoleGate, allows
from web.console.render import ConsoleRenderer
from web.params import path_lot
from web.problem import Problem
from web.qr import link
from web.report.document import MEDIA_TYPE, ReportUnrendered
from web.report.rendering import ReportPdfs, ReportRefused, stated
from web.report.route import place_query
from web.report.view import TemperatureReport

T = TypeVar("T")
LOT_PATH = "/console/lots/{gtin}/{lot}/report"


def report_routes(
    gate: ConsoleGate,
    renderer: ConsoleRenderer,
    store: RecordStore,
    reports: ReportPdfs,
    releases: ReportReleases,
) -> list[Route]:
    async def lot_of(request: Request) -> tuple[Product, Lot]:
        gtin, lot_id = path_lot(request)
        product = await run_in_threadpool(store.get_product, gtin)
        lot = await run_in_threadpool(store.get_lot, gtin, lot_id)
        if product is None or lot is None:
            raise Problem(404, "unknown lot", f"lot {lot_id} of {gtin} is not in the records")
        return product, lot

    async def rendered(
        request: Request, product: Product, lot: Lot, release: ESignature | None
    ) -> tuple[TemperatureReport, bytes]:
        base = str(request.base_url).rstrip("/")
        try:
            return await reports.render(product, lot, link(base, product.gtin, lot.lot), release)
        except ReportUnrendered as exc:
            raise Problem(503, "report not rendered", str(exc)) from exc
        except ReportRefused as exc:
            raise Problem(409, "report not released", str(exc)) from exc

    async def page(request: Request) -> Response:
        user = await gate.require(request, "viewer")
        product, lot = await lot_of(request)
        released = await _call(lambda: store.released_reports(product.gtin, lot.lot))
        problems = await _call(lambda: {r.id: releases.problem(r) for r in released})
        return renderer.page(
            request,
            "report.html",
            user=user,
            csrf=gate.csrf_token(request),
            product=product,
            lot=lot,
            released=released,
            problems=problems,
            can_release=allows(user.role, "quality"),
            meaning=meaning_of(product.gtin, lot.lot),
        )

    async def draft(request: Request) -> Response:
        await gate.require(request, "viewer")
        product, lot = await lot_of(request)
        _, pdf = await rendered(request, product, lot, None)
        return _pdf(pdf, f"draft-temperature-report-{product.gtin}-{lot.lot}.pdf")

    async def release(request: Request) -> Response:
        user = await gate.require(request, "quality")
        form = await form_of(request)
        await gate.check_csrf(request, form.get("csrf"))
        product, lot = await lot_of(request)
        password = form.get("password", "")
        if not password:
            raise Problem(400, "bad form", "password: sign with your password")
        meaning = meaning_of(product.gtin, lot.lot)
        signature = await gate.sign(user, password, form.get("totp") or None, meaning)
        signed = ESignature(**signature.model_dump())
        report, pdf = await rendered(request, product, lot, signed)
        kept = await _call(
            lambda: releases.release(product.gtin, lot.lot, pdf, signed, stated(report))
        )
        return RedirectResponse(f"/console/reports/{kept.id}.pdf", 303)

    async def released_file(request: Request) -> Response:
        await gate.require(request, "viewer")
        raw = request.path_params["report_id"]
        found = await _call(lambda: store.released_report(raw))
        if found is None:
            raise Problem(404, "no such report", f"report {raw}: no such released report")
        kept, pdf = found
        problem = await _call(lambda: releases.problem(kept))
        if problem is not None:
            raise Problem(409, "report altered", f"released report {kept.id}: {problem}")
        return _pdf(pdf, f"temperature-report-{kept.gtin}-{kept.lot}-{kept.id}.pdf")

    async def place_report(request: Request) -> Response:
        await gate.require(request, "viewer")
        params = dict(request.query_params)
        urn = params.pop("place", "")
        known = await _call(store.locations)
        if urn not in {place.urn for place in known}:
            raise Problem(404, "unknown place", f"place {urn[:200]}: not in the records")
        start, end, band = place_query(params)
        try:
            pdf = await reports.render_place(urn, start, end, band)
        except ReportUnrendered as exc:
            raise Problem(503, "report not rendered", str(exc)) from exc
        return _pdf(pdf, f"temperature-report-{urn}-{start:%Y%m%d}.pdf")

    return [
        Route("/console/places/report.pdf", place_report, methods=["GET"]),
        Route(LOT_PATH, page, methods=["GET"]),
        Route(LOT_PATH + "/draft.pdf", draft, methods=["GET"]),
        Route(LOT_PATH + "/release", release, methods=["POST"]),
        Route("/console/reports/{report_id:int}.pdf", released_file, methods=["GET"]),
    ]


def _pdf(pdf: bytes, name: str) -> Response:
    safe = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
    return Response(
        pdf,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def _call(call: Callable[[], T]) -> T:
    try:
        return await run_in_threadpool(call)
    except RecordConflict as exc:
        raise Problem(409, "report altered", str(exc)) from exc
    except (TraceabilityError, LedgerError) as exc:
        raise Problem(503, "records unavailable", str(exc)) from exc
