"""A storage place's temperature report rendered: HTML and PDF, as the lot's
(``web.report.document``: the same stylesheet rules, chart and refusing URL fetcher)."""

from __future__ import annotations

from markupsafe import Markup

from web.chart import ChartSpan, ChartText, temperature_chart
from web.i18n import catalog
from web.renderer import celsius
from web.report.document import CHART_STYLE, ENVIRONMENT, MAX_ROWS, pdf_of
from web.report.placeview import PlaceReport


def place_report_html(report: PlaceReport) -> str:
    span = report.end - report.start
    svg = temperature_chart(
        report.chart,
        report.band_min_c,
        report.band_max_c,
        [ChartSpan(start=e.start, end=e.end) for e in report.excursions],
        ChartText(
            title="Temperature at the place",
            description=f"From {celsius(report.min_c)} to {celsius(report.max_c)}, "
            f"{len(report.excursions)} excursions",
            band="allowed band",
            excursion="out of the band",
        ),
        "%H:%M" if span.days < 2 else "%m-%d",
    )
    return ENVIRONMENT.get_template("placereport.html").render(
        r=report,
        rows=MAX_ROWS,
        t=catalog("en").t,
        chart=Markup(svg.replace("<title", CHART_STYLE + "<title", 1)),
    )


def place_report_pdf(report: PlaceReport) -> bytes:
    return pdf_of(place_report_html(report))
