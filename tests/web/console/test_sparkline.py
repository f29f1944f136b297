"""The sparkline: the band, each bucket's envelope (red where it left the band), the mean,
clamped to the window; nothing to draw, no markup."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.support.webapp import NOW
from traceability.coldchain.buckets import Bucket
from web.console.sparkline import HEIGHT, WIDTH, sparkline

START = NOW - timedelta(hours=6)


def bucket(minutes: int, low: float, high: float, width_min: int = 10, out: int = 0) -> Bucket:
    return Bucket(
        start=START + timedelta(minutes=minutes),
        width=timedelta(minutes=width_min),
        count=3,
        mean_c=(low + high) / 2,
        min_c=low,
        max_c=high,
        out_of_range=out,
    )


def test_the_band_the_buckets_and_the_mean() -> None:
    svg = sparkline(
        [bucket(0, 2.0, 2.4), bucket(180, 3.5, 4.6), bucket(350, 2.0, 2.1)],
        0.0,
        4.0,
        START,
        NOW,
        "Last 6 h",
    )
    assert svg.startswith(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}"')
    assert "<title>Last 6 h</title>" in svg
    assert svg.count('class="band"') == 1
    assert svg.count('class="envelope"') == 2
    assert svg.count('class="out"') == 1  # the middle one's max is above 4.0
    points = re.search(r'<polyline points="([^"]+)" class="mean"/>', svg)
    assert points is not None
    xs = [float(p.split(",")[0]) for p in points.group(1).split()]
    assert xs == sorted(xs)
    assert 4 < xs[0] < 5  # the middle of each bucket, 5 min into the 6 h
    assert 102 < xs[1] < 103
    assert 195 < xs[2] < 196


def test_a_coarse_bucket_is_clamped_to_the_window() -> None:
    day = bucket(-600, 2.0, 2.3, width_min=24 * 60)
    svg = sparkline([day], None, None, START, NOW, "t")
    x = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    assert x is not None
    assert (float(x.group(1)), float(x.group(2))) == (2.0, 196.0)
    assert 'class="band"' not in svg  # no band to draw


def test_nothing_to_draw() -> None:
    assert sparkline([], 0.0, 4.0, START, NOW, "t") == ""
    assert sparkline([bucket(0, 1, 2)], 0.0, 4.0, NOW, NOW, "t") == ""
