"""The consumer pages per GS1 Digital Link, and the lot's evidence bundle as a download.

* ``LotPages.digital_link`` answers ``/01/{gtin}[/10/{lot}[/21/{serial}]]`` (and the
  ``/gtin/…`` convenience form): HTML in the language of ``?lang=`` or
  ``Accept-Language`` (en, zh-CN); ``?linkType=all`` (or ``Accept:
  application/linkset+json``) the RFC 9264 linkset; ``?linkType=gs1:…`` a redirect to
  that link; non-canonical forms redirect (``web.resolver``); unknown or malformed
  codes get a 404 page that says what is wrong and what a code looks like.
* ``LotPages.evidence_download`` answers ``/evidence/{gtin}/{lot}`` with the lot's
  evidence bundle as an attachment (when public); refusals are ``web.problem`` answers.

Pages are rendered once and kept in a ``PageCache`` (the exposure behind a lot page
costs ~200 ms); cache hits are answered on the event loop without touching the
database, misses are built in the threadpool (the store and telemetry clients block).
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gs1.errors import InvalidIdentifier
from traceability.anchoring.proofs import EvidenceSource
from traceability.records.store import RecordStore
from web.i18n import catalog, negotiate
from web.linkset import LINKSET_TYPE, links_for, linkset, pick
from web.lotpage import LotPageBuilder
from web.pagecache import CachedPage, PageCache
from web.params import path_lot
from web.problem import Problem
from web.renderer import Renderer, chart
from web.resolver import Target, resolve


class LotPages:
    """The page endpoints over ``store``; ``evidence`` (if any) is offered for download
    only when ``evidence_public``."""

    def __init__(
        self,
        store: RecordStore,
        builder: LotPageBuilder,
        renderer: Renderer,
        cache: PageCache,
        *,
        evidence: EvidenceSource | None,
        evidence_public: bool,
    ) -> None:
        self._store = store
        self._builder = builder
        self._renderer = renderer
        self._cache = cache
        self._evidence = evidence
        self._evidence_public = evidence_public

    async def digital_link(self, request: Request) -> Response:
        raw_path = _raw_path(request)
        lang = negotiate(request.headers.get("accept-language"), request.query_params.get("lang"))
        key = (
            raw_path,
            request.url.query,
            lang,
            LINKSET_TYPE in request.headers.get("accept", ""),
            request.headers.get("host", ""),
        )
        found = self._cache.peek(key)
        if found is None:
            found = await run_in_threadpool(
                self._cache.get,
                key,
                _lot_key(raw_path),
                lambda: self._resolve(request, raw_path, lang),
            )
        return _respond(request, found)

    def evidence_download(self, request: Request) -> Response:
        if self._evidence is None or not self._evidence_public:
            raise Problem(404, "not public", "ask the brand owner for auditor access")
        gtin, lot = path_lot(request)
        bundle = self._evidence.bundle(gtin, lot, claims=True)
        if bundle is None:
            raise Problem(404, "no evidence", f"lot {lot}: none yet")
        return Response(
            json.dumps(bundle, indent=1).encode("utf-8"),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="evidence-{gtin}-{_safe(lot)}.json"'
            },
        )

    def _resolve(self, request: Request, raw_path: str, lang: str) -> CachedPage:
        store, render = self._store, self._renderer
        base = request.scope.get("root_path", "").rstrip("/")
        query = [(k, v) for k, v in request.query_params.multi_items()]
        messages = catalog(lang)
        try:
            resolution = resolve(raw_path, query)
        except InvalidIdentifier as exc:
            return render.not_found(base, lang, str(exc), messages.t("nf_hint_format"))
        target = resolution.target
        if resolution.redirect is not None:
            return CachedPage.redirect(base + resolution.redirect, 301)
        product = store.get_product(target.gtin)
        if product is None:
            return render.not_found(
                base, lang, messages.t("nf_product", gtin=target.gtin), messages.t("nf_hint_scan")
            )
        if target.serial is not None and target.lot is None:
            owner = store.lot_of_unit(target.gtin, target.serial)
            if owner is None:
                return render.not_found(
                    base, lang, messages.t("nf_unit", serial=target.serial, gtin=target.gtin)
                )
            moved = Target(gtin=target.gtin, lot=owner, serial=target.serial)
            return CachedPage.redirect(base + moved.path + _keep_query(query), 301)
        lot = store.get_lot(target.gtin, target.lot) if target.lot is not None else None
        if target.lot is not None and lot is None:
            return render.not_found(
                base,
                lang,
                messages.t("nf_lot", lot=target.lot, gtin=target.gtin),
                messages.t("nf_hint_lot", name=product.name),
            )
        if target.serial is not None and lot is not None:
            owner = store.lot_of_unit(target.gtin, target.serial)
            if owner != lot.lot:
                return render.not_found(
                    base,
                    lang,
                    messages.t("nf_unit_lot", serial=target.serial, lot=lot.lot)
                    if owner is None
                    else messages.t("nf_unit_other", serial=target.serial, lot=owner),
                )
        view = self._builder.build(product, lot, target.serial) if lot is not None else None
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
            return CachedPage.of(body.encode("utf-8"), 200, LINKSET_TYPE)
        if link_type is not None:
            chosen = pick(links, link_type)
            if chosen.link_type != "pip":
                return CachedPage.redirect(chosen.href, 307)
        header = (
            ("Link", f'<{base}{target.path}?linkType=all>; rel="linkset"; type="{LINKSET_TYPE}"'),
        )
        if view is None:
            page = render.render("product.html", base, lang, 200, product=product, target=target)
        else:
            page = render.render(
                "lot.html",
                base,
                lang,
                200,
                view=view,
                target=target,
                chart=chart(view, messages),
                proof_data=view.proofs.script_data(),
            )
        return page.model_copy(update={"headers": header})


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    root = request.scope.get("root_path", "")
    path = raw.decode("latin-1").split("?", 1)[0] if raw else request.url.path
    return path[len(root) :] if root and path.startswith(root) else path


def _lot_key(raw_path: str) -> tuple[str, str]:
    """(gtin, lot) as the path names them, for invalidation (best effort, canonical paths)."""
    parts = raw_path.split("/")
    if len(parts) >= 5 and parts[1] == "01" and parts[3] == "10":
        return parts[2], unquote(parts[4])
    return ("", "")


def _origin(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def _keep_query(query: list[tuple[str, str]]) -> str:
    kept = [(k, v) for k, v in query if not k.isdigit()]
    return f"?{urlencode(kept)}" if kept else ""


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


def _safe(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in value)
