"""The server-side SVG chart: band, envelope, mean, excursions, escaped text, scaling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from web.chart import ChartBucket, ChartSpan, ChartText, temperature_chart
from web.lotpage import downsample

T0 = datetime(2026, 11, 22, tzinfo=UTC)
TEXT = ChartText(title="Temp <&>", description="desc", band="band", excursion="out")
NS = "{http://www.w3.org/2000/svg}"


def bucket(hour: int, low: float, high: float) -> ChartBucket:
    return ChartBucket(
        start=T0 + timedelta(hours=hour),
        end=T0 + timedelta(hours=hour + 1),
        min_c=low,
        max_c=high,
        mean_c=(low + high) / 2,
    )


def test_chart_is_valid_svg_with_band_envelope_mean_and_excursion() -> None:
    buckets = [bucket(0, 2, 3), bucket(1, 3, 9), bucket(2, 2, 3)]
    svg = temperature_chart(
        buckets,
        0.0,
        4.0,
        [ChartSpan(start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2))],
        TEXT,
    )
    root = ElementTree.fromstring(svg)  # well-formed XML
    assert root.get("viewBox") == "0 0 320 160"
    classes = [el.get("class") for el in root.iter()]
    assert classes.count("band") == 1
    assert classes.count("excursion") == 1
    assert classes.count("envelope") == 1
    assert classes.count("mean") == 1
    title = root.find(f"{NS}title")
    assert title is not None
    assert title.text == "Temp <&>"  # escaped in the markup
    band = next(el for el in root.iter() if el.get("class") == "band")
    excursion = next(el for el in root.iter() if el.get("class") == "excursion")
    # 9 °C is above the band: the band's top edge lies below the plot's top
    assert float(band.get("y", "0")) > 8
    # the excursion spans the middle third of the time axis
    assert 34 + 280 / 3 - 1 < float(excursion.get("x", "0")) < 34 + 280 / 3 + 1


def test_no_buckets_no_chart() -> None:
    assert temperature_chart([], 0.0, 4.0, [], TEXT) == ""


def test_downsample_keeps_extremes_and_time_span() -> None:
    buckets = [bucket(h, 2.0, 3.0) for h in range(1000)]
    buckets[500] = bucket(500, -1.0, 12.0)
    merged = downsample(buckets, 96)
    assert len(merged) <= 96
    assert min(b.min_c for b in merged) == -1.0
    assert max(b.max_c for b in merged) == 12.0
    assert merged[0].start == T0
    assert merged[-1].end == T0 + timedelta(hours=1000)
    assert downsample(buckets[:10], 96) == tuple(buckets[:10])
