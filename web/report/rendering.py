"""The temperature reports rendered, bounded, and what a release must not sign.

WeasyPrint is CPU-bound: a long lot takes seconds. ``ReportPdfs`` renders at most
``workers`` reports at once in its own threads (``web.offload``), ``queue`` more wait,
and a further request is a 503 with Retry-After, so reports never take the threads
every other page needs. The auditor API and the console share one ``ReportPdfs``.

A report is released only when what it states can be proven: not while the lot's
readings differ from what the gateway sealed (changed in InfluxDB after sealing), nor
when the temperatures could not be read. ``ReportRefused`` says which.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from traceability.audit.entry import ESignature
from traceability.records.entities import Lot, Product
from web.errors import WebError
from web.offload import Offload
from web.report.build import ReportBuilder
from web.report.document import ReportUnrendered, report_pdf
from web.report.placebuild import PlaceReportBuilder
from web.report.placedocument import place_report_pdf
from web.report.view import TemperatureReport


class ReportRefused(WebError):  # noqa: N818 - an outcome, named as the others
    """A report that may not be released now; the message says why and what to do."""


def release_problem(report: TemperatureReport) -> str | None:
    """Why ``report`` may not be released (None: it may)."""
    cold = report.view.cold_chain
    windows = cold.windows
    if cold.readings_changed or (windows is not None and windows.changed):
        changed = windows.changed if windows is not None else 0
        return (
            f"the lot's readings changed in InfluxDB after the gateway sealed them ({changed} h): "
            "what the report would state is not proven; restore the readings (tracehub "
            "verify names the windows) before releasing"
        )
    if cold.state == "unavailable":
        return "the lot's temperatures could not be read (InfluxDB): retry when it answers"
    return None


def stated(report: TemperatureReport) -> dict[str, Any]:
    """The numbers the report states, signed into its release record so ``tracehub
    verify --report`` holds them against the lot's proven numbers."""
    cold = report.view.cold_chain
    return {
        "as_of": report.generated_at.isoformat(),
        "state": cold.state,
        "mkt_c": cold.mkt_c,
        "min_c": cold.min_c,
        "max_c": cold.max_c,
        "minutes_out": cold.minutes_out,
        "excursions": len(cold.excursions),
    }


class ReportPdfs:
    def __init__(
        self,
        builder: ReportBuilder,
        places: PlaceReportBuilder | None = None,
        workers: int = 1,
        queue: int = 2,
    ) -> None:
        """``places``: the storage places' reports (None: not served)."""
        self.builder = builder
        self.places = places
        self._pool = Offload("temperature report", workers, queue)

    async def render_place(
        self, urn: str, start: datetime, end: datetime, band: tuple[float | None, float | None]
    ) -> bytes:
        """A storage place's report over ``[start, end)`` as PDF."""
        places = self.places
        if places is None:
            raise ReportUnrendered("this site serves no storage-place reports")
        return await self._pool.run(lambda: place_report_pdf(places.build(urn, start, end, band)))

    async def render(
        self, product: Product, lot: Lot, lot_url: str, release: ESignature | None = None
    ) -> tuple[TemperatureReport, bytes]:
        """The report and its PDF; with ``release``, ``ReportRefused`` when it may not be."""
        return await self._pool.run(self._render, product, lot, lot_url, release)

    def _render(
        self, product: Product, lot: Lot, lot_url: str, release: ESignature | None
    ) -> tuple[TemperatureReport, bytes]:
        report = self.builder.build(product, lot, lot_url, release)
        if release is not None and (problem := release_problem(report)) is not None:
            raise ReportRefused(problem)
        return report, report_pdf(report)
