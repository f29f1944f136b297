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

The seal model, its leaf rule and the page's cheap views (``window_status``,
``drifted``) are in ``traceability.anchoring.seals``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ledger.merkle import merkle_root
from ledger.verify.report import Check, Outcome
from traceability.anchoring.seals import (
    DEFAULT_CLOSE,
    DEFAULT_WINDOW,
    Seal,
    Span,
    at_places,
    leaf_of,
    overlaps,
    sealed_windows,
    window_of,
)

_VALUES = ("celsius", "humidity", "battery", "site", "location")
_SHOWN = 5  # differences named per window; the rest are counted


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


# --- the page: from the bundle alone --------------------------------------------------------


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
    wanted = {k for k, s in seals.items() if overlaps(s.start, s.end, at_places(s, spans), now)}
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
