"""How much of some stays' time sealed telemetry proves now: the seals a bundle carries,
held against what InfluxDB holds (``WindowTotals``), as the lot page and the temperature
reports state it. One query for all the seals' devices; the per-reading comparison is
``tracehub verify``'s."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from traceability.anchoring.seals import (
    DEFAULT_WINDOW,
    Span,
    WindowStatus,
    WindowTotals,
    drifted,
    overlapping_seals,
    window_of,
    window_status,
)
from traceability.errors import TelemetryUnavailable


def sealed_status(
    bundle: Mapping[str, Any] | None,
    spans: Sequence[Span],
    now: datetime,
    stored: WindowTotals | None,
) -> WindowStatus:
    """The stays' hour slots: proven, sealed, open, changed; ``compared`` False when
    InfluxDB could not be asked (nothing is then claimed proven), None without ``stored``."""
    if stored is None:
        return window_status(bundle, spans, now)
    seals = overlapping_seals(bundle, spans, now)
    if not seals:
        return window_status(bundle, spans, now, compared=True)
    width = window_of({(s.device, s.start): s for s in seals}, DEFAULT_WINDOW)
    try:
        totals = stored.window_totals(
            sorted({s.device for s in seals}),
            min(s.start for s in seals),
            max(s.end for s in seals),
            width,
        )
    except TelemetryUnavailable:
        return window_status(bundle, spans, now, compared=False)
    return window_status(bundle, spans, now, changed=drifted(seals, totals), compared=True)
