"""The temperature report rendered: HTML (``report_html``) and PDF (``report_pdf``).

The PDF is WeasyPrint's rendering of the same HTML, the chart being the lot page's SVG
(``web.chart``). Nothing is fetched while rendering: the document is self-contained
and the URL fetcher refuses every URL, so a place name or a lot number that looks like
a link cannot make the hub reach out.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, NoReturn

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from web.errors import WebError
from web.i18n import catalog
from web.qr import qr_svg
from web.renderer import celsius, chart, day, minutes, when
from web.report.view import TemperatureReport

TEMPLATES = Path(__file__).parent.parent / "templates"
VERDICTS = {
    "ok": "within the band",
    "at_risk": "at risk (out of the band, within what the product tolerates)",
    "compromised": "compromised",
    "unavailable": "temperatures could not be read",
    "no_record": "no temperature record",
}
MEDIA_TYPE = "application/pdf"
# Rows per table: WeasyPrint lays out ~60 rows a second here, and a probe flapping at a
# band edge for months makes thousands of excursions; past this the report says how many
# more there are (the auditor API lists them all).
MAX_ROWS = 200
# The chart's classes, inside the SVG: WeasyPrint styles an inline SVG from its own
# stylesheet, not the page's.
CHART_STYLE = (
    "<style>.plot{fill:#fff;stroke:#9aa0a6}.band{fill:#e6f4ea}"
    ".excursion{fill:#c5221f;opacity:.35}.envelope{fill:#9aa0a6;opacity:.45}"
    ".mean{fill:none;stroke:#202124;stroke-width:1.2}.tick{font-size:7px;fill:#5f6368}</style>"
)


class ReportUnrendered(WebError):  # noqa: N818 - an outcome, named as the others
    """The report could not be rendered as PDF."""


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(c=celsius, minutes=minutes, when=when, day=day)
    return env


ENVIRONMENT = _environment()  # the reports' templates (``web.report.placedocument`` too)


def report_html(report: TemperatureReport) -> str:
    view = report.view
    return ENVIRONMENT.get_template("report.html").render(
        r=report,
        v=view,
        c=view.cold_chain,
        p=view.proofs,
        verdicts=VERDICTS,
        rows=MAX_ROWS,
        t=catalog("en").t,
        chart=Markup(
            str(chart(view, catalog("en"), _ticks(report))).replace(
                "<title", CHART_STYLE + "<title", 1
            )
        ),
        qr=Markup(qr_svg(report.lot_url, scale=3)),
    )


def _ticks(report: TemperatureReport) -> str:
    """The chart's time labels: hours for a journey within two days, else dates."""
    buckets = report.view.cold_chain.chart
    if not buckets:
        return "%m-%d"
    span = max(b.end for b in buckets) - min(b.start for b in buckets)
    return "%H:%M" if span <= timedelta(days=2) else "%m-%d"


def report_pdf(report: TemperatureReport) -> bytes:
    """The report as a PDF document (A4)."""
    return pdf_of(report_html(report))


def pdf_of(html: str) -> bytes:
    """A self-contained report's HTML as PDF; nothing it names is fetched."""
    # Imported here: WeasyPrint loads Pango through cffi, which costs ~0.3 s at import.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class NoFetch(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> NoReturn:
            raise ValueError(f"the report fetches nothing; it referred to {url[:80]!r}")

    try:
        pdf = HTML(string=html, url_fetcher=NoFetch()).write_pdf()
    except (OSError, ValueError) as exc:
        raise ReportUnrendered(f"rendering the temperature report as PDF failed: {exc}") from exc
    if pdf is None:
        raise ReportUnrendered("rendering the temperature report as PDF gave no document")
    return bytes(pdf)
