"""Telemetry completeness evidence: per device and window, a digest of the readings stored.

The digest is a plain JSON record (format ``tracehub.telemetry-completeness/1``):
count, first and last sequence number, the gaps in the sequence, and the RFC 6962
Merkle root over the readings as InfluxDB holds them, in sequence order. It is
computed from an InfluxQL query that an auditor can run too (``window_query``), so
anyone can re-derive it with :func:`completeness_digest` and compare it with the
leaf the ledger anchored. The gateway hands each record to an :class:`EvidencePort`
(the composition root wires it to the ledger) once the window has ended, a grace
period has passed and no reading for it arrived for a while; a reading that lands
in an already sealed window makes the window sealed again with ``revision`` + 1.

Leaf of one reading = ``leaf_hash(canonicalize(obj))`` (RFC 8785, RFC 6962 0x00
prefix), ``obj`` holding ``measurement``, ``time`` (ns since the epoch, as a decimal
string: JSON numbers cannot hold it exactly), the tags ``device``, ``site``,
``location`` and the fields ``seq``, ``celsius``, ``humidity``, ``battery`` (absent
fields left out). Readings are ordered by ``(seq, time)``.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from gateway.errors import GatewayError
from gateway.pipeline import TOUCH_SCOPE
from ledger.canonical import canonicalize
from ledger.merkle import leaf_hash, merkle_root

log = logging.getLogger(__name__)

FORMAT = "tracehub.telemetry-completeness/1"
KIND = "telemetry_completeness"
SEAL_SCOPE = "evidence_seal"
_TAGS = ("device", "site", "location")
_FIELDS = ("seq", "celsius", "humidity", "battery")


class EvidencePort(Protocol):
    """Takes one evidence record (plain JSON) for the ledger to canonicalise and anchor.

    Raise ``gateway.errors.EvidenceUnavailable`` if it cannot take it now: the
    gateway offers the same record again later (submitting twice is harmless).
    """

    def submit(self, kind: str, record: Mapping[str, Any]) -> None: ...


class Rows(Protocol):
    """Runs InfluxQL (InfluxWriter in production)."""

    def query(self, influxql: str) -> list[dict[str, Any]]: ...


class StateStore(Protocol):
    def state(self, scope: str) -> dict[str, str]: ...

    def complete(
        self, entries: Sequence[Any], state: Sequence[tuple[str, str, str | None]] = ()
    ) -> None: ...


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def window_query(device: str, start_ns: int, end_ns: int) -> str:
    """The InfluxQL that selects one device's readings in ``[start, end)`` (epoch=ns)."""
    return (
        f"SELECT * FROM temperature WHERE device = {_quote(device)} "
        f"AND time >= {start_ns} AND time < {end_ns}"
    )


def reading_leaf(row: Mapping[str, Any]) -> bytes:
    """The leaf hash of one stored reading (a row of ``window_query``, epoch=ns)."""
    obj: dict[str, Any] = {"measurement": "temperature", "time": str(int(row["time"]))}
    for key in (*_TAGS, *_FIELDS):
        value = row.get(key)
        if value is not None:
            obj[key] = value
    return leaf_hash(canonicalize(obj))


def _gaps(seqs: Sequence[int]) -> list[list[int]]:
    gaps: list[list[int]] = []
    for prev, cur in itertools.pairwise(seqs):
        if cur > prev + 1:
            gaps.append([prev + 1, cur - 1])
    return gaps


def completeness_digest(
    device: str,
    start_ns: int,
    end_ns: int,
    rows: Iterable[Mapping[str, Any]],
    revision: int = 0,
) -> dict[str, Any]:
    """The evidence record for one device and window, from the stored rows."""
    ordered = sorted(rows, key=lambda r: (int(r["seq"]), int(r["time"])))
    seqs = [int(r["seq"]) for r in ordered]
    distinct = sorted(set(seqs))
    return {
        "format": FORMAT,
        "measurement": "temperature",
        "device": device,
        "window_start": _iso(start_ns),
        "window_end": _iso(end_ns),
        "revision": revision,
        "count": len(ordered),
        "first_seq": seqs[0] if seqs else None,
        "last_seq": seqs[-1] if seqs else None,
        "gaps": _gaps(distinct),
        "missing": sum(b - a + 1 for a, b in _gaps(distinct)),
        "repeated_seqs": len(seqs) - len(distinct),
        "merkle_root": merkle_root([reading_leaf(r) for r in ordered]).hex(),
    }


class JsonlEvidence:
    """An EvidencePort that appends records to a JSON-lines file (standalone gateway)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def submit(self, kind: str, record: Mapping[str, Any]) -> None:
        line = json.dumps({"kind": kind, "record": dict(record)}, sort_keys=True)
        with self._lock, self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


class EvidenceSealer:
    """Seals the windows the drain pipeline touched, in a thread of its own."""

    def __init__(
        self,
        rows: Rows,
        port: EvidencePort,
        store: StateStore,
        *,
        window_s: int = 3_600,
        grace_s: float = 300.0,
        quiet_s: float = 60.0,
        check_s: float = 5.0,
        retain_s: float = 7 * 86_400,
        gateway_id: str = "gateway",
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._rows = rows
        self._port = port
        self._store = store
        self._window_ns = window_s * 10**9
        self._grace_ns = int(grace_s * 1e9)
        self._quiet_ns = int(quiet_s * 1e9)
        self._check_s = check_s
        self._retain_ns = int(retain_s * 1e9)
        self._gateway_id = gateway_id
        self._clock_ns = clock_ns
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sealed = 0

    def due(self) -> list[tuple[str, int, int, int]]:
        """(device, window start, touch, revision) of every window ready to (re)seal."""
        now = self._clock_ns()
        seals = self._store.state(SEAL_SCOPE)
        ready = []
        forget: list[tuple[str, str, str | None]] = []
        for key, touch_text in self._store.state(TOUCH_SCOPE).items():
            device, _, start_text = key.rpartition("|")
            start, touch = int(start_text), int(touch_text)
            seal = json.loads(seals[key]) if key in seals else None
            if seal is not None and seal["touch"] >= touch:
                if now - touch > self._retain_ns:
                    # Sealed and quiet for long: keep the state small. A reading that
                    # still arrives for it is sealed as a new revision 0 record.
                    forget += [(TOUCH_SCOPE, key, None), (SEAL_SCOPE, key, None)]
                continue
            if now < start + self._window_ns + self._grace_ns or now - touch < self._quiet_ns:
                continue
            ready.append((device, start, touch, 0 if seal is None else seal["revision"] + 1))
        if forget:
            self._store.complete([], forget)
        return ready

    def seal_due(self) -> int:
        """Seal every due window now; return how many were handed to the port."""
        done = 0
        for device, start, touch, revision in self.due():
            end = start + self._window_ns
            rows = [
                r for s in self._rows.query(window_query(device, start, end)) for r in s["rows"]
            ]
            record = completeness_digest(device, start, end, rows, revision)
            record["gateway"] = self._gateway_id
            self._port.submit(KIND, record)
            key = f"{device}|{start}"
            self._store.complete(
                [], [(SEAL_SCOPE, key, json.dumps({"touch": touch, "revision": revision}))]
            )
            log.info(
                "evidence sealed: %s %s rev %d, %d readings, %d missing, root %s",
                device, record["window_start"], revision, record["count"], record["missing"],
                record["merkle_root"],
            )  # fmt: skip
            done += 1
        self.sealed += done
        return done

    def _run(self) -> None:
        while not self._stop.wait(self._check_s):
            try:
                self.seal_due()
            except GatewayError as exc:
                log.warning("evidence sealing postponed: %s", exc)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="gateway-evidence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
