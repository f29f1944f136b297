"""The consumer pages' HTML: the Jinja templates in ``web/templates`` and their filters.

``Renderer.render(name, root, lang, status, **context)`` renders a template in the
request's language (``t`` is the language's catalogue, ``web.i18n``) into a
``CachedPage``; ``not_found`` is the 404 page that says what is wrong with a code.
``chart(view, messages)`` is the lot's temperature chart as inline SVG (``web.chart``).
Filters: ``c`` (°C, one decimal), ``minutes``, ``when`` (UTC minute), ``day`` (UTC
date), ``script_json`` (data for a ``<script type="application/json">``).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from web.chart import ChartText, temperature_chart
from web.i18n import LANGUAGES, Catalog, catalog
from web.lotpage import excursion_spans
from web.lotview import LotView
from web.pagecache import CachedPage

TEMPLATES = Path(__file__).parent / "templates"


class Renderer:
    def __init__(self) -> None:
        self._env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["c"] = celsius
        self._env.filters["minutes"] = minutes
        self._env.filters["when"] = when
        self._env.filters["day"] = day
        self._env.filters["script_json"] = script_json

    def render(self, name: str, root: str, lang: str, status: int, **context: Any) -> CachedPage:
        """Template ``name`` in ``lang``; ``root`` prefixes the page's own links."""
        html = self._env.get_template(name).render(
            t=catalog(lang).t,
            lang=lang,
            languages=LANGUAGES,
            root=root,
            **context,
        )
        return CachedPage.of(html.encode("utf-8"), status, "text/html; charset=utf-8")

    def not_found(self, root: str, lang: str, problem: str, hint: str = "") -> CachedPage:
        return self.render("not_found.html", root, lang, 404, problem=problem, hint=hint, path=None)


def chart(view: LotView, messages: Catalog, date_format: str = "%m-%d") -> Markup:
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
                low=celsius(cold.min_c),
                high=celsius(cold.max_c),
                count=len(cold.excursions),
            ),
            band=messages.t("chart_band"),
            excursion=messages.t("chart_excursion"),
        ),
        date_format,
    )
    return Markup(svg)


def celsius(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} °C"


def minutes(value: float) -> str:
    return f"{value:.0f}"


def when(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(moment: date | datetime | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment.astimezone(UTC).date()
    return moment.isoformat()


def script_json(value: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` break-out)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
