"""A place's last hours as a small inline SVG against its band, drawn on the server.

Drawn over a fixed span (``start``..``end``, so every tile of a wall screen shares one
time axis): the band (green), the min–max envelope of each bucket (grey), the mean
(line), and each bucket with readings outside the band as a red mark. Buckets may
differ in width (the adapter keeps quiet hours coarse). Pure; ``<title>`` carries the
tile's words for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from traceability.coldchain.buckets import Bucket

WIDTH = 200
HEIGHT = 44
_PAD = 2


def sparkline(
    buckets: Sequence[Bucket],
    low: float | None,
    high: float | None,
    start: datetime,
    end: datetime,
    title: str,
) -> str:
    """The SVG markup; empty when there is nothing to draw."""
    ordered = sorted((b for b in buckets if b.count), key=lambda b: b.start)
    if not ordered or end <= start:
        return ""
    t0, span_t = start.timestamp(), max((end - start).total_seconds(), 1.0)
    values = [b.min_c for b in ordered] + [b.max_c for b in ordered]
    values += [v for v in (low, high) if v is not None]
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * 0.1, 0.5)
    lo, hi = lo - pad, hi + pad
    plot_w, plot_h = WIDTH - 2 * _PAD, HEIGHT - 2 * _PAD

    def x(moment: datetime) -> float:
        share = (moment.timestamp() - t0) / span_t
        return _PAD + min(max(share, 0.0), 1.0) * plot_w

    def y(celsius: float) -> float:
        return _PAD + (hi - celsius) / (hi - lo) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="spark" role="img" preserveAspectRatio="none"><title>{escape(title)}</title>'
    ]
    if low is not None or high is not None:
        top = y(high) if high is not None else _PAD
        bottom = y(low) if low is not None else _PAD + plot_h
        parts.append(
            f'<rect x="{_PAD}" y="{top:.1f}" width="{plot_w}" height="{bottom - top:.1f}" '
            'class="band"/>'
        )
    for b in ordered:
        left, right = x(b.start), x(b.start + b.width)
        parts.append(
            f'<rect x="{left:.1f}" y="{y(b.max_c):.1f}" width="{max(right - left, 0.8):.1f}" '
            f'height="{max(y(b.min_c) - y(b.max_c), 0.8):.1f}" '
            f'class="{"out" if _outside(b, low, high) else "envelope"}"/>'
        )
    mean = " ".join(f"{x(b.start + b.width / 2):.1f},{y(b.mean_c):.1f}" for b in ordered)
    parts.append(f'<polyline points="{mean}" class="mean"/>')
    parts.append("</svg>")
    return "".join(parts)


def _outside(bucket: Bucket, low: float | None, high: float | None) -> bool:
    # Coarse buckets count no readings out (they were kept for staying inside the band);
    # their min and max tell all the same.
    return bool(
        bucket.out_of_range
        or (low is not None and bucket.min_c < low)
        or (high is not None and bucket.max_c > high)
    )
