"""A lot's telemetry against the gateway's sealed windows: what the ledger holds vs InfluxDB.

The gateway seals, per device and window, the readings it received (format
``tracehub.telemetry-window/1``, kind ``telemetry_window``; docs/gateway.md) and
links each seal into the stream of every location the device reported from
(``location_stream``), so a lot's bundle carries the seals of the places it stayed.

``telemetry_checks`` re-reads the lot's readings from InfluxDB (the points at its
locations during its stays, and every point of each sealed device window), re-derives
each window's leaves and RFC 6962 root the way the gateway defined them, and names
every reading added, removed or altered (device, seq, time, the sealed value vs the
stored one), plus the sequence gaps the device left. Windows that are not sealed
are either still open (the gateway seals a window after it ends plus a grace period:
"could not check", not a failure) or overdue (pending: a reading no seal covers).

``window_status`` is the cheap part the lot page uses: from the bundle alone, which of
the hours the lot spent at its locations are covered by an anchored seal, a seal not
yet anchored, or none yet. Pure over data; the InfluxDB reader is a port.

This module re-implements the leaf rule on purpose instead of importing the gateway's:
the verifier must agree with the documented format, not with the code that wrote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from ledger.canonical import canonicalize
from ledger.merkle import leaf_hash, merkle_root
from ledger.verify.report import Check, Outcome

WINDOW_KIND = "telemetry_window"
WINDOW_FORMAT = "tracehub.telemetry-window/1"
DEFAULT_WINDOW = timedelta(hours=1)
# The gateway seals a window once it ended, a grace period passed and it went quiet
# (gateway defaults: 300 s + 60 s, checked every 5 s): before that it is open.
DEFAULT_CLOSE = timedelta(seconds=300 + 60 + 5)
_TAGS = ("device", "site", "location")
_FIELDS = ("seq", "celsius", "humidity", "battery")
_VALUES = ("celsius", "humidity", "battery", "site", "location")
_SHOWN = 5  # differences named per window; the rest are counted

Span = tuple[str, datetime, datetime | None]  # location, arrived, left (None: still there)


def location_stream(location: str) -> str:
    """The ledger stream of one location's sealed telemetry windows."""
    return f"location:{location}"


class TelemetryRows(Protocol):
    """Raw stored points (``InfluxTemperatureReader.readings`` in production)."""

    def readings(
        self,
        start: datetime,
        end: datetime,
        *,
        location: str | None = None,
        device: str | None = None,
    ) -> list[dict[str, Any]]: ...


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


def _overlaps(start: datetime, end: datetime, spans: Iterable[Span], now: datetime) -> bool:
    return any(start < (left or now) and arrived < end for _, arrived, left in spans)


# --- the page: from the bundle alone --------------------------------------------------------


class WindowStatus(BaseModel):
    """How much of the lot's time at its locations sealed telemetry covers (hour slots)."""

    model_config = ConfigDict(frozen=True)

    proven: int = 0  # covered by a seal in an anchored batch
    sealed: int = 0  # covered by a seal not anchored yet
    open: int = 0  # no seal yet (still open, or not sealed)

    @property
    def total(self) -> int:
        return self.proven + self.sealed + self.open


def window_status(
    bundle: Mapping[str, Any] | None,
    spans: Sequence[Span],
    now: datetime,
    window: timedelta = DEFAULT_WINDOW,
) -> WindowStatus:
    """Per hour slot the lot spent at a location: the best seal covering it there."""
    seals = sealed_windows(bundle) if bundle is not None else {}
    window = window_of(seals, window)
    cover: dict[tuple[str, datetime], bool] = {}  # (location, slot) → anchored?
    for seal in seals.values():
        for location in seal.record.get("locations") or []:
            key = (str(location), seal.start)
            cover[key] = cover.get(key, False) or seal.anchored
    step = int(window.total_seconds())
    counts = {"proven": 0, "sealed": 0, "open": 0}
    for location, arrived, left in spans:
        first = int(arrived.timestamp()) // step * step
        last = (left or now).timestamp()
        slot = first
        while slot < last:
            state = cover.get((location, datetime.fromtimestamp(slot, UTC)))
            counts["open" if state is None else "proven" if state else "sealed"] += 1
            slot += step
    return WindowStatus(**counts)


# --- verify: against InfluxDB ---------------------------------------------------------------


@dataclass
class _Window:
    device: str
    start: datetime
    stored: list[dict[str, Any]] = field(default_factory=list)


def _key(row: Mapping[str, Any]) -> tuple[int, int]:
    return int(row["seq"]), int(row["time"])


def _when(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def _values(row: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in _VALUES if row.get(k) is not None)


def telemetry_checks(
    bundle: Mapping[str, Any],
    spans: Sequence[Span],
    rows: TelemetryRows,
    now: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    close_after: timedelta = DEFAULT_CLOSE,
) -> list[Check]:
    """One check per device window the lot's stays touch (``TelemetryUnavailable`` from
    ``rows`` propagates: the caller says InfluxDB could not be asked)."""
    seals = sealed_windows(bundle)
    window = window_of(seals, window)
    wanted = {k for k, s in seals.items() if _overlaps(s.start, s.end, _at(s, spans), now)}
    step = int(window.total_seconds()) * 10**9
    unsealed: dict[tuple[str, datetime], _Window] = {}
    for location, arrived, left in spans:
        for row in rows.readings(arrived, left or now, location=location):
            if row.get("device") is None or row.get("seq") is None:
                continue
            ns = int(row["time"])
            start = datetime.fromtimestamp((ns - ns % step) // 10**9, UTC)
            key = (str(row["device"]), start)
            if key in seals:
                wanted.add(key)  # compared in full below
            else:
                unsealed.setdefault(key, _Window(key[0], start)).stored.append(row)
    checks = [_compare(seals[key], rows) for key in sorted(wanted)]
    for key in sorted(unsealed):
        checks.append(_unsealed(unsealed[key], window, close_after, now))
    return checks


def _at(seal: Seal, spans: Sequence[Span]) -> list[Span]:
    places = set(seal.record.get("locations") or [])
    return [span for span in spans if span[0] in places]


def _subject(device: str, start: datetime) -> str:
    return f"window {device} {start.strftime('%Y-%m-%dT%H:%MZ')}"


def _compare(seal: Seal, rows: TelemetryRows) -> Check:
    record = seal.record
    subject = _subject(seal.device, seal.start)

    def check(outcome: Outcome, detail: str) -> Check:
        return Check(
            name="telemetry", outcome=outcome, subject=subject, detail=detail,
            record_id=seal.record_id,
        )  # fmt: skip

    sealed = [{**r, "device": seal.device} for r in record.get("readings") or []]
    try:
        sealed.sort(key=_key)
        own_root = merkle_root([leaf_of(r) for r in sealed]).hex()
    except (KeyError, TypeError, ValueError) as exc:
        return check(Outcome.FAIL, f"the sealed readings are malformed: {exc}")
    if own_root != record.get("merkle_root") or len(sealed) != record.get("count"):
        return check(
            Outcome.FAIL,
            f"the seal's readings do not give its own root {record.get('merkle_root')} "
            f"(they give {own_root}, {len(sealed)} readings): the record was forged",
        )
    stored = [
        r
        for r in rows.readings(seal.start, seal.end, device=seal.device)
        if r.get("seq") is not None
    ]
    by_key = {_key(r): r for r in sealed}
    found = {_key(r): r for r in stored}
    problems: list[str] = []
    for key in sorted(by_key.keys() - found.keys()):
        problems.append(
            f"removed: seq {key[0]} at {_when(key[1])} (sealed {_values(by_key[key])}) "
            "is not in InfluxDB"
        )
    for key in sorted(found.keys() - by_key.keys()):
        problems.append(
            f"added: seq {key[0]} at {_when(key[1])} ({_values(found[key])}) is in InfluxDB "
            "but not in the seal"
        )
    for key in sorted(by_key.keys() & found.keys()):
        if leaf_of(by_key[key]) != leaf_of(found[key]):
            problems.append(
                f"altered: seq {key[0]} at {_when(key[1])}: sealed {_values(by_key[key])}, "
                f"InfluxDB holds {_values(found[key])}"
            )
    rev = f"rev {seal.revision}"
    if problems:
        more = f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else ""
        return check(
            Outcome.FAIL,
            f"InfluxDB differs from the sealed window ({rev}, root {own_root[:16]}…): "
            + "; ".join(problems[:_SHOWN])
            + more,
        )
    stored_root = merkle_root([leaf_of(r) for r in sorted(stored, key=_key)]).hex()
    gaps = record.get("gaps") or []
    gap_text = (
        f"; the device left gaps in its sequence: {', '.join(f'{a}–{b}' for a, b in gaps)}"
        if gaps
        else ""
    )
    anchored = "" if seal.anchored else " (the seal is not anchored yet)"
    return check(
        Outcome.OK,
        f"{len(stored)} readings in InfluxDB re-derive the sealed root {stored_root[:16]}… "
        f"({rev}){anchored}{gap_text}",
    )


def _unsealed(found: _Window, window: timedelta, close_after: timedelta, now: datetime) -> Check:
    subject = _subject(found.device, found.start)
    closes = found.start + window + close_after
    count = len(found.stored)
    if now < closes:
        return Check(
            name="telemetry",
            outcome=Outcome.SKIPPED,
            subject=subject,
            detail=(
                f"could not check: open window, {count} readings not sealed yet (the gateway "
                f"seals it after {closes.strftime('%Y-%m-%dT%H:%M:%SZ')})"
            ),
        )
    first = min(found.stored, key=_key)
    return Check(
        name="telemetry",
        outcome=Outcome.PENDING,
        subject=subject,
        detail=(
            f"not sealed: {count} readings in InfluxDB (first seq {first['seq']} at "
            f"{_when(int(first['time']))}) that no sealed window in the ledger covers"
        ),
    )


def spans_of(locations: Mapping[str, Sequence[tuple[datetime, datetime | None]]]) -> list[Span]:
    """``Timeline.locations()`` as flat spans."""
    return [(loc, start, end) for loc, runs in locations.items() for start, end in runs]


def streams_for(spans: Iterable[Span]) -> list[str]:
    return sorted({location_stream(location) for location, _, _ in spans})


__all__ = [
    "WINDOW_FORMAT",
    "WINDOW_KIND",
    "Seal",
    "TelemetryRows",
    "WindowStatus",
    "leaf_of",
    "location_stream",
    "sealed_windows",
    "spans_of",
    "streams_for",
    "telemetry_checks",
    "window_of",
    "window_status",
]
