"""The gateway's sealed telemetry windows as a lot's bundle carries them (format
``tracehub.telemetry-window/1``, kind ``telemetry_window``; docs/gateway.md): the seal
model and its leaf rule, which hours of the lot's stays they cover (``window_status``, the
page's cheap view from the bundle alone) and which no longer match InfluxDB (``drifted``,
count and celsius sum: a screen, not the audit). Pure over data.

The leaf rule is re-implemented here on purpose instead of importing the gateway's: the
verifier must agree with the documented format, not with the code that wrote it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from ledger.canonical import canonicalize
from ledger.merkle import leaf_hash

WINDOW_KIND = "telemetry_window"


WINDOW_FORMAT = "tracehub.telemetry-window/1"


DEFAULT_WINDOW = timedelta(hours=1)


# The gateway seals a window once it ended, a grace period passed and it went quiet
# (gateway defaults: 300 s + 60 s, checked every 5 s): before that it is open.
DEFAULT_CLOSE = timedelta(seconds=300 + 60 + 5)


_TAGS = ("device", "site", "location")


_FIELDS = ("seq", "celsius", "humidity", "battery")


Span = tuple[str, datetime, datetime | None]  # location, arrived, left (None: still there)


def location_stream(location: str) -> str:
    """The ledger stream of one location's sealed telemetry windows."""
    return f"location:{location}"


def leaf_of(row: Mapping[str, Any]) -> bytes:
    """The leaf of one reading: a stored point, or a sealed reading with its device."""
    obj: dict[str, Any] = {"measurement": "temperature", "time": str(int(row["time"]))}
    for key in (*_TAGS, *_FIELDS):
        value = row.get(key)
        if value is not None:
            obj[key] = value
    return leaf_hash(canonicalize(obj))


@dataclass(frozen=True)
class Seal:
    """The newest revision of one device window found in the bundle."""

    device: str
    start: datetime
    end: datetime
    revision: int
    record: dict[str, Any]
    record_id: str
    anchored: bool


def _instant(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def sealed_windows(bundle: Mapping[str, Any]) -> dict[tuple[str, datetime], Seal]:
    """Per (device, window start), the newest sealed revision the bundle carries."""
    anchored = {
        b.get("id") for b in bundle.get("batches") or [] if isinstance(b, dict) and b.get("anchor")
    }
    seals: dict[tuple[str, datetime], Seal] = {}
    for item in bundle.get("items") or []:
        entry = item.get("entry") if isinstance(item, dict) else None
        record = item.get("record") if isinstance(item, dict) else None
        if not isinstance(entry, dict) or entry.get("kind") != WINDOW_KIND:
            continue
        if not isinstance(record, dict) or record.get("format") != WINDOW_FORMAT:
            continue  # a missing or foreign record: the bundle checks name it
        start, end = _instant(record.get("window_start")), _instant(record.get("window_end"))
        device, revision = record.get("device"), record.get("revision")
        if start is None or end is None or not isinstance(device, str):
            continue
        if not isinstance(revision, int):
            continue
        seal = Seal(
            device, start, end, revision, record, str(entry.get("record_id")),
            item.get("batch") in anchored,
        )  # fmt: skip
        known = seals.get((device, start))
        if known is None or revision > known.revision:
            seals[(device, start)] = seal
    return seals


def window_of(seals: Mapping[tuple[str, datetime], Seal], default: timedelta) -> timedelta:
    """The sealing window the site uses, as its seals show it (``default`` without any)."""
    widths = [s.end - s.start for s in seals.values() if s.end > s.start]
    return max(set(widths), key=widths.count) if widths else default


def overlaps(start: datetime, end: datetime, spans: Iterable[Span], now: datetime) -> bool:
    return any(start < (left or now) and arrived < end for _, arrived, left in spans)


class WindowStatus(BaseModel):
    """How much of the lot's time at its locations sealed telemetry covers (hour slots)."""

    model_config = ConfigDict(frozen=True)

    proven: int = 0  # covered by a seal in an anchored batch
    sealed: int = 0  # covered by a seal not anchored yet
    open: int = 0  # no seal yet (still open, or not sealed)
    changed: int = 0  # covered by a seal InfluxDB no longer matches: not proven
    # Whether the seals were held against InfluxDB's readings now: None not asked (no
    # reader), False InfluxDB could not be asked (so nothing is claimed proven).
    compared: bool | None = None

    @property
    def total(self) -> int:
        return self.proven + self.sealed + self.open + self.changed


WindowKey = tuple[str, datetime]  # device, window start


Totals = tuple[int, float]  # readings with a celsius value, their celsius sum


class WindowTotals(Protocol):
    """Per device window, what InfluxDB holds now (``InfluxTemperatureReader`` in
    production); raises ``TelemetryUnavailable`` when it cannot answer."""

    def window_totals(
        self, devices: Sequence[str], start: datetime, end: datetime, window: timedelta
    ) -> dict[WindowKey, Totals]: ...


def at_places(seal: Seal, spans: Sequence[Span]) -> list[Span]:
    """The stays at the locations the seal's device reported from."""
    places = set(seal.record.get("locations") or [])
    return [span for span in spans if span[0] in places]


def overlapping_seals(
    bundle: Mapping[str, Any] | None, spans: Sequence[Span], now: datetime
) -> list[Seal]:
    """The sealed windows that cover the lot's stays at their locations."""
    seals = sealed_windows(bundle) if bundle is not None else {}
    return [
        seal for _, seal in sorted(seals.items())
        if overlaps(seal.start, seal.end, at_places(seal, spans), now)
    ]  # fmt: skip


def sealed_totals(seal: Seal) -> Totals:
    """Count and celsius sum of the sealed readings, as InfluxQL ``count``/``sum`` see them."""
    values = [
        float(r["celsius"])
        for r in seal.record.get("readings") or []
        if isinstance(r, dict) and isinstance(r.get("celsius"), int | float)
    ]
    return len(values), math.fsum(values)


def drifted(seals: Iterable[Seal], stored: Mapping[WindowKey, Totals]) -> frozenset[WindowKey]:
    """The seals whose readings InfluxDB no longer holds as sealed (count or sum differ;
    a window absent from ``stored`` holds nothing)."""
    changed = set()
    for seal in seals:
        count, total = sealed_totals(seal)
        now_count, now_total = stored.get((seal.device, seal.start), (0, 0.0))
        # InfluxDB adds in its own order: allow float rounding, never a changed reading
        # (readings carry a few decimals, far above 1e-6).
        if count != now_count or not math.isclose(total, now_total, rel_tol=1e-12, abs_tol=1e-6):
            changed.add((seal.device, seal.start))
    return frozenset(changed)


def window_status(
    bundle: Mapping[str, Any] | None,
    spans: Sequence[Span],
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
    *,
    changed: Collection[WindowKey] = (),
    compared: bool | None = None,
) -> WindowStatus:
    """Per hour slot the lot spent at a location: the best seal covering it there,
    unless a seal there is in ``changed`` (``drifted``): then the slot is not proven."""
    seals = sealed_windows(bundle) if bundle is not None else {}
    window = window_of(seals, window)
    cover: dict[tuple[str, datetime], str] = {}  # (location, slot) → proven/sealed/changed
    rank = ("sealed", "proven", "changed")  # a changed seal outweighs an intact one
    for key, seal in seals.items():
        state = "changed" if key in changed else "proven" if seal.anchored else "sealed"
        for location in seal.record.get("locations") or []:
            place = (str(location), seal.start)
            known = cover.get(place)
            cover[place] = state if known is None else max(known, state, key=rank.index)
    step = int(window.total_seconds())
    counts = {"proven": 0, "sealed": 0, "open": 0, "changed": 0}
    for location, arrived, left in spans:
        first = int(arrived.timestamp()) // step * step
        last = (left or now).timestamp()
        slot = first
        while slot < last:
            counts[cover.get((location, datetime.fromtimestamp(slot, UTC)), "open")] += 1
            slot += step
    return WindowStatus(**counts, compared=compared)


def spans_of(locations: Mapping[str, Sequence[tuple[datetime, datetime | None]]]) -> list[Span]:
    """``Timeline.locations()`` as flat spans."""
    return [(loc, start, end) for loc, runs in locations.items() for start, end in runs]


def streams_for(spans: Iterable[Span]) -> list[str]:
    return sorted({location_stream(location) for location, _, _ in spans})
