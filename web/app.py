"""The consumer pages per GS1 Digital Link, the auditor API, and ``/healthz``.

* ``/01/{gtin}[/10/{lot}[/21/{serial}]]`` — HTML in the language of ``?lang=`` or
  ``Accept-Language`` (en, zh-CN); ``?linkType=all`` (or ``Accept:
  application/linkset+json``) the RFC 9264 linkset; ``?linkType=gs1:…`` a redirect to
  that link; non-canonical forms redirect (``web.resolver``); unknown or
  malformed codes get a 404 page that says what is wrong and what a code looks like.
* ``/evidence/{gtin}/{lot}`` — the lot's evidence bundle as a download (when public).
* ``/auditor/…`` — token-protected raw data (``web.auditor``).
* ``/epcis/…``, ``/lots/…`` — the EPCIS capture/query API (``web.api``); with
  auditor tokens configured, its read endpoints need a token too.

Pages are rendered once and kept in a ``PageCache`` (the exposure behind a lot page
costs ~200 ms); cache hits are answered on the event loop without touching the
database, misses are built in the threadpool (the store and telemetry clients block).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gs1.identifiers import Gtin
from traceability.anchoring.proofs import EvidenceSource
from traceability.capture import CaptureService
from traceability.carbon.lotfootprint import FootprintSource
from traceability.coldchain.exposure import ExposureService, TemperatureSeries
from traceability.coldchain.telemetry import TemperatureReader
from traceability.errors import InvalidIdentifier
from traceability.expiry import DEFAULT_NEAR_EXPIRY_DAYS
from traceability.records.store import RecordStore
from web.api import api_routes
from web.auditor import TelemetryWindow, TokenCheck, auditor_routes, guard
from web.chart import ChartText, temperature_chart
from web.i18n import LANGUAGES, Catalog, catalog, negotiate
from web.linkset import LINKSET_TYPE, links_for, linkset, pick
from web.lotpage import LotPageBuilder, LotView, excursion_spans
from web.pagecache import DEFAULT_TTL_S, CachedPage, PageCache
from web.resolver import Target, resolve

_HERE = Path(__file__).parent


def create_app(
    store: RecordStore,
    telemetry: TemperatureReader | TelemetryWindow | None,
    chain_name: str,
    *,
    capture: CaptureService | None = None,
    exposure: ExposureService | None = None,
    series: TemperatureSeries | None = None,
    footprint: FootprintSource | None = None,
    evidence: EvidenceSource | None = None,
    evidence_public: bool = True,
    auditor_tokens: Iterable[str] = (),
    cache: PageCache | None = None,
    near_expiry_days: int = DEFAULT_NEAR_EXPIRY_DAYS,
    today: Callable[[], date] | None = None,
    now: Callable[[], datetime] | None = None,
) -> Starlette:
    """The web app. Ports (all optional, the page says what it lacks):

    ``exposure`` the cold-chain verdict; ``series`` the temperature buckets for the
    chart; ``footprint`` the carbon footprint; ``evidence`` the lot's evidence bundle
    (in-page proof check, download, auditor API; without it the records' own batches
    are shown). ``auditor_tokens`` are SHA-256 hex digests of bearer tokens.
    ``telemetry`` serves the auditor's raw windows when it has ``points()``.
    """
    tokens = TokenCheck(auditor_tokens)
    pages = cache if cache is not None else PageCache(DEFAULT_TTL_S)
    builder = LotPageBuilder(
        store,
        chain_name,
        exposure=exposure,
        series=series,
        footprint=footprint,
        evidence=evidence,
        evidence_public=evidence_public and evidence is not None,
        near_expiry_days=near_expiry_days,
        today=today,
        now=now,
    )
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["c"] = _celsius
    env.filters["minutes"] = _minutes
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.filters["script_json"] = _script_json
    capture_service = capture or CaptureService(store)

    def render(name: str, request_base: str, lang: str, status: int, **context: Any) -> CachedPage:
        messages = catalog(lang)
        html = env.get_template(name).render(
            t=messages.t,
            lang=lang,
            languages=LANGUAGES,
            root=request_base,
            **context,
        )
        return _page(html.encode("utf-8"), status, "text/html; charset=utf-8")

    def not_found(base: str, lang: str, problem: str, hint: str = "") -> CachedPage:
        return render("not_found.html", base, lang, 404, problem=problem, hint=hint, path=None)

    def resolve_page(request: Request, raw_path: str, lang: str) -> CachedPage:
        base = request.scope.get("root_path", "").rstrip("/")
        query = [(k, v) for k, v in request.query_params.multi_items()]
        messages = catalog(lang)
        try:
            resolution = resolve(raw_path, query)
        except InvalidIdentifier as exc:
            return not_found(base, lang, str(exc), messages.t("nf_hint_format"))
        target = resolution.target
        if resolution.redirect is not None:
            return _redirect(base + resolution.redirect, 301)
        product = store.get_product(target.gtin)
        if product is None:
            return not_found(
                base, lang, messages.t("nf_product", gtin=target.gtin), messages.t("nf_hint_scan")
            )
        if target.serial is not None and target.lot is None:
            owner = store.lot_of_unit(target.gtin, target.serial)
            if owner is None:
                return not_found(
                    base, lang, messages.t("nf_unit", serial=target.serial, gtin=target.gtin)
                )
            moved = Target(gtin=target.gtin, lot=owner, serial=target.serial)
            return _redirect(base + moved.path + _keep_query(query), 301)
        lot = store.get_lot(target.gtin, target.lot) if target.lot is not None else None
        if target.lot is not None and lot is None:
            return not_found(
                base,
                lang,
                messages.t("nf_lot", lot=target.lot, gtin=target.gtin),
                messages.t("nf_hint_lot", name=product.name),
            )
        if target.serial is not None and lot is not None:
            owner = store.lot_of_unit(target.gtin, target.serial)
            if owner != lot.lot:
                return not_found(
                    base,
                    lang,
                    messages.t("nf_unit_lot", serial=target.serial, lot=lot.lot)
                    if owner is None
                    else messages.t("nf_unit_other", serial=target.serial, lot=owner),
                )
        view = builder.build(product, lot, target.serial) if lot is not None else None
        links = links_for(
            target,
            _origin(request) + base,
            evidence_public=bool(view and view.evidence_public and view.proofs.anchored),
            anchored=bool(view and view.proofs.anchored),
            has_footprint=bool(view and view.footprint),
        )
        link_type = request.query_params.get("linkType")
        wants_linkset = link_type == "all" or (
            LINKSET_TYPE in request.headers.get("accept", "") and link_type is None
        )
        if wants_linkset:
            body = json.dumps(linkset(target, _origin(request) + base, links), ensure_ascii=False)
            return _page(body.encode("utf-8"), 200, LINKSET_TYPE)
        if link_type is not None:
            chosen = pick(links, link_type)
            if chosen.link_type != "pip":
                return _redirect(chosen.href, 307)
        header = (
            ("Link", f'<{base}{target.path}?linkType=all>; rel="linkset"; type="{LINKSET_TYPE}"'),
        )
        if view is None:
            page = render("product.html", base, lang, 200, product=product, target=target)
        else:
            page = render(
                "lot.html",
                base,
                lang,
                200,
                view=view,
                target=target,
                chart=_chart(view, messages),
                proof_data=view.proofs.script_data(),
            )
        return page.model_copy(update={"headers": header})

    async def digital_link(request: Request) -> Response:
        raw_path = _raw_path(request)
        lang = negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))
        key = (
            raw_path,
            request.url.query,
            lang,
            LINKSET_TYPE in request.headers.get("accept", ""),
            request.headers.get("host", ""),
        )
        lot_key = _lot_key(raw_path)
        found = pages.peek(key)
        if found is None:
            found = await run_in_threadpool(
                pages.get, key, lot_key, lambda: resolve_page(request, raw_path, lang)
            )
        return _respond(request, found)

    def evidence_download(request: Request) -> Response:
        if evidence is None or not evidence_public:
            return JSONResponse(
                {"title": "not public", "detail": "ask the brand owner for auditor access"}, 404
            )
        try:
            gtin = Gtin.parse(request.path_params["gtin"]).value
        except InvalidIdentifier as exc:
            return JSONResponse({"title": "bad GTIN", "detail": str(exc)}, 400)
        lot = request.path_params["lot"]
        bundle = evidence.bundle(gtin, lot)
        if bundle is None:
            return JSONResponse({"title": "no evidence", "detail": f"lot {lot}: none yet"}, 404)
        return Response(
            json.dumps(bundle, indent=1).encode("utf-8"),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="evidence-{gtin}-{_safe(lot)}.json"'
            },
        )

    def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes: list[BaseRoute] = [
        Route("/01/{rest:path}", digital_link, name="digital_link"),
        Route("/gtin/{rest:path}", digital_link),
        Route("/evidence/{gtin}/{lot}", evidence_download),
        Route("/healthz", healthz),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    window = telemetry if hasattr(telemetry, "points") else None
    routes.extend(
        auditor_routes(
            store,
            tokens,
            telemetry=window,  # type: ignore[arg-type]
            exposure=exposure,
            evidence=evidence,
        )
    )
    api = api_routes(store, capture_service, exposure, on_capture=pages.invalidate)
    if tokens.enabled:
        api = [_guarded(route, tokens) for route in api]
    routes.extend(api)
    app = Starlette(routes=routes)
    app.state.pages = pages
    return app


def _guarded(route: Route, tokens: TokenCheck) -> Route:
    """The read endpoints of the EPCIS/lot API behind the auditor token (capture stays
    open to the gateway, as before)."""
    if route.methods is not None and "POST" in route.methods:
        return route
    inner = route.endpoint

    async def endpoint(request: Request) -> Response:
        denied = guard(tokens, request)
        if denied is not None:
            return denied
        if _is_async(inner):
            response: Response = await inner(request)
        else:
            response = await run_in_threadpool(inner, request)
        return response

    return Route(route.path, endpoint, methods=list(route.methods or ["GET"]))


def _is_async(func: Any) -> bool:
    import inspect

    return inspect.iscoroutinefunction(func)


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    root = request.scope.get("root_path", "")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else request.url.path
    return path[len(root) :] if root and path.startswith(root) else path


def _lot_key(raw_path: str) -> tuple[str, str]:
    """(gtin, lot) as the path names them, for invalidation (best effort, canonical paths)."""
    from urllib.parse import unquote

    parts = raw_path.split("/")
    if len(parts) >= 5 and parts[1] == "01" and parts[3] == "10":
        return parts[2], unquote(parts[4])
    return ("", "")


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _keep_query(query: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    kept = [(k, v) for k, v in query if not k.isdigit()]
    return f"?{urlencode(kept)}" if kept else ""


def _page(body: bytes, status: int, media_type: str) -> CachedPage:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return CachedPage(
        body=body,
        status=status,
        media_type=media_type,
        etag=etag,
        gzipped=gzip.compress(body, 6, mtime=0) if len(body) > 1024 else None,
    )


def _redirect(location: str, status: int) -> CachedPage:
    return CachedPage(
        body=b"", status=status, media_type="text/plain", etag="", headers=(("Location", location),)
    )


def _respond(request: Request, page: CachedPage) -> Response:
    headers = dict(page.headers)
    if page.etag:
        headers["ETag"] = page.etag
        headers["Vary"] = "Accept-Language, Accept, Accept-Encoding"
        headers["Cache-Control"] = "public, max-age=30"
        if request.headers.get("if-none-match") == page.etag and page.status == 200:
            return Response(status_code=304, headers=headers)
    body = page.body
    if page.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
        body = page.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, page.status, headers=headers, media_type=page.media_type)


def _chart(view: LotView, messages: Catalog) -> Markup:
    cold = view.cold_chain
    if not cold.chart:
        return Markup("")
    band = view.product
    svg = temperature_chart(
        cold.chart,
        band.temp_min_c,
        band.temp_max_c,
        excursion_spans(cold),
        ChartText(
            title=messages.t("chart_title"),
            description=messages.t(
                "chart_desc",
                low=_celsius(cold.min_c),
                high=_celsius(cold.max_c),
                count=len(cold.excursions),
            ),
            band=messages.t("chart_band"),
            excursion=messages.t("chart_excursion"),
        ),
    )
    return Markup(svg)


def _celsius(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} °C"


def _minutes(value: float) -> str:
    return f"{value:.0f}"


def _when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _day(moment: date | datetime | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.isoformat()


def _script_json(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` break-out)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _safe(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in value)
