"""The lot page's temperature chart: an SVG drawn on the server, no script, no library.

Input is aggregated: per time bucket the min, max and mean (never raw readings: the
consumer page shows aggregates only). Drawn: the allowed band (green), the min–max
envelope (grey), the mean (line), and each excursion as a red span over its time. The
SVG scales to the page width (``viewBox``) and carries a ``<title>``/``<desc>`` for
screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from pydantic import BaseModel, ConfigDict

WIDTH = 320
HEIGHT = 160
_LEFT, _RIGHT, _TOP, _BOTTOM = 34, 6, 8, 22


class ChartBucket(BaseModel):
    """Readings aggregated over ``[start, end)``."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime
    min_c: float
    max_c: float
    mean_c: float


class ChartSpan(BaseModel):
    """A time span to mark (an excursion)."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime


class ChartText(BaseModel):
    """The chart's words, in the page's language."""

    model_config = ConfigDict(frozen=True)

    title: str
    description: str
    band: str  # legend: the allowed band
    excursion: str  # legend: out of the band


def temperature_chart(
    buckets: Sequence[ChartBucket],
    low: float | None,
    high: float | None,
    excursions: Sequence[ChartSpan],
    text: ChartText,
    date_format: str = "%m-%d",
) -> str:
    """The SVG markup (an ``<svg>`` element); empty string when there is nothing to draw."""
    if not buckets:
        return ""
    ordered = sorted(buckets, key=lambda b: b.start)
    t0 = ordered[0].start.timestamp()
    t1 = max(b.end for b in ordered).timestamp()
    span_t = max(t1 - t0, 1.0)
    values = [b.min_c for b in ordered] + [b.max_c for b in ordered]
    values += [v for v in (low, high) if v is not None]
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.1, 0.5)
    lo, hi = lo - pad, hi + pad
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM

    def x(moment: datetime) -> float:
        return _LEFT + (moment.timestamp() - t0) / span_t * plot_w

    def y(celsius: float) -> float:
        return _TOP + (hi - celsius) / (hi - lo) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="chart-title chart-desc" id="chart" class="chart">',
        f'<title id="chart-title">{escape(text.title)}</title>',
        f'<desc id="chart-desc">{escape(text.description)}</desc>',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    if low is not None or high is not None:
        top = y(high) if high is not None else _TOP
        bottom = y(low) if low is not None else _TOP + plot_h
        parts.append(
            f'<rect x="{_LEFT}" y="{top:.1f}" width="{plot_w}" height="{bottom - top:.1f}" '
            f'class="band"><title>{escape(text.band)}</title></rect>'
        )
    for span in excursions:
        left, right = x(span.start), x(span.end)
        parts.append(
            f'<rect x="{left:.1f}" y="{_TOP}" width="{max(right - left, 1.5):.1f}" '
            f'height="{plot_h}" class="excursion"><title>{escape(text.excursion)}</title></rect>'
        )
    upper = " ".join(
        f"{x(b.start):.1f},{y(b.max_c):.1f} {x(b.end):.1f},{y(b.max_c):.1f}" for b in ordered
    )
    lower = " ".join(
        f"{x(b.end):.1f},{y(b.min_c):.1f} {x(b.start):.1f},{y(b.min_c):.1f}"
        for b in reversed(ordered)
    )
    parts.append(f'<polygon points="{upper} {lower}" class="envelope"/>')
    mean = " ".join(f"{x(b.start + (b.end - b.start) / 2):.1f},{y(b.mean_c):.1f}" for b in ordered)
    parts.append(f'<polyline points="{mean}" class="mean"/>')
    for value in _ticks(lo, hi):
        parts.append(
            f'<text x="{_LEFT - 3}" y="{y(value) + 3:.1f}" class="tick" text-anchor="end">'
            f"{value:g}°</text>"
        )
    first, last = ordered[0].start, max(b.end for b in ordered)
    parts.append(
        f'<text x="{_LEFT}" y="{HEIGHT - 6}" class="tick">{first.strftime(date_format)}</text>'
    )
    parts.append(
        f'<text x="{WIDTH - _RIGHT}" y="{HEIGHT - 6}" class="tick" text-anchor="end">'
        f"{last.strftime(date_format)}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(lo: float, hi: float) -> list[float]:
    """Three to six round values between ``lo`` and ``hi``."""
    span = hi - lo
    step = 1.0
    for candidate in (0.5, 1, 2, 5, 10, 20, 50):
        step = float(candidate)
        if span / step <= 5:
            break
    first = int(lo // step + 1)
    return [round(i * step, 1) for i in range(first, int(hi // step) + 1)]
