"""Telemetry windows sealed by the gateway from what it received, not from InfluxDB.

As the pipeline takes each temperature reading out of the durable spool (which holds
the raw message), it files the reading into its device's open window in the spool's
own state (``leaf_scope``), in the same transaction that completes the message: a
crash replays the whole batch or nothing, and a redelivered reading lands on the same
key ``(seq, time)``, so no leaf is lost or counted twice. Once a window has ended, a
grace period has passed and no reading for it arrived for a while, the sealer turns
the filed readings into one record and hands it to an :class:`EvidencePort` (the
composition root wires it to the ledger). A reading that lands in an already sealed
window makes the window sealed again with ``revision`` + 1, over all its readings.

Record (format ``tracehub.telemetry-window/1``, kind ``telemetry_window``): device,
window, count, first and last sequence number, the gaps in the sequence, the
locations the device reported from, the readings themselves (so a verifier can name
the value the seal holds) and the RFC 6962 Merkle root over their leaves.

Leaf of one reading = ``leaf_hash(canonicalize(obj))`` (RFC 8785, RFC 6962 0x00
prefix), ``obj`` holding ``measurement`` (``"temperature"``), ``time`` (ns since the
epoch, as a decimal string: JSON numbers cannot hold it exactly), the tags
``device``, ``site``, ``location`` and the fields ``seq``, ``celsius``, ``humidity``,
``battery`` (absent fields left out): exactly what InfluxDB stores for the point, so
anyone can re-derive the leaf from a ``SELECT *`` row (``reading_leaf``). Readings are
ordered by ``(seq, time)``.
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
from gateway.lineprotocol import timestamp_ns
from ledger.canonical import canonicalize
from ledger.merkle import leaf_hash, merkle_root
from sensors.temperature import TemperatureReading
from supervision.supervisor import Component, Supervisor

log = logging.getLogger(__name__)
COMPONENT = "gateway.evidence"  # the sealer's name in the supervisor's report

FORMAT = "tracehub.telemetry-window/1"
KIND = "telemetry_window"
TOUCH_SCOPE = "evidence_touch"  # window key → when a reading for it was last filed
SEAL_SCOPE = "evidence_seal"  # window key → {touch, revision} of its last seal
LEAF_SCOPE = "evidence_leaf"  # + "|{window key}": "{seq}|{time}" → the reading (JSON)
MEASUREMENT = "temperature"
_TAGS = ("device", "site", "location")
_FIELDS = ("seq", "celsius", "humidity", "battery")
# Self-description carried by every record, so a verifier needs no other document.
LEAF_RULE = (
    "sha256(0x00 || RFC 8785 JSON of {measurement, time (ns, decimal string), device, site, "
    "location, seq, celsius, humidity, battery}, absent fields left out); "
    "ordered by (seq, time); RFC 6962 root"
)


class EvidencePort(Protocol):
    """Takes one evidence record (plain JSON) for the ledger to canonicalise and anchor.

    Raise ``gateway.errors.EvidenceUnavailable`` if it cannot take it now: the
    gateway offers the same record again later (submitting twice is harmless).
    """

    def submit(self, kind: str, record: Mapping[str, Any]) -> None: ...


class StateStore(Protocol):
    def state(self, scope: str) -> dict[str, str]: ...

    def complete(
        self, entries: Sequence[Any], state: Sequence[tuple[str, str, str | None]] = ()
    ) -> None: ...


def window_key(device: str, start_ns: int) -> str:
    return f"{device}|{start_ns}"


def leaf_scope(device: str, start_ns: int) -> str:
    """The spool state scope holding one window's readings."""
    return f"{LEAF_SCOPE}|{window_key(device, start_ns)}"


def filed_reading(
    site: str, reading: TemperatureReading, window_ns: int, location: str
) -> tuple[str, tuple[str, str, str]]:
    """(window key, the state upsert filing ``reading`` into its window).

    The stored value is the reading as InfluxDB gets it (``temperature_line``): the
    same tags and fields, the exact ns timestamp, so its leaf is the stored point's;
    ``location`` is the device directory's placement, as on the point.
    """
    ts = timestamp_ns(reading.ts)  # the point's own timestamp, exactly
    start = ts - ts % window_ns
    value: dict[str, Any] = {
        "time": str(ts),
        "site": site,
        "location": location,
        "seq": reading.seq,
        "celsius": float(reading.celsius),
    }
    if reading.humidity is not None:
        value["humidity"] = float(reading.humidity)
    if reading.battery is not None:
        value["battery"] = float(reading.battery)
    key = window_key(reading.device_id, start)
    return key, (leaf_scope(reading.device_id, start), f"{reading.seq}|{ts}", json.dumps(value))


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reading_leaf(row: Mapping[str, Any]) -> bytes:
    """The leaf hash of one reading: a row of ``SELECT *`` (epoch=ns), or a sealed
    record's reading with its ``device``."""
    obj: dict[str, Any] = {"measurement": MEASUREMENT, "time": str(int(row["time"]))}
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


def window_record(
    device: str,
    start_ns: int,
    end_ns: int,
    readings: Iterable[Mapping[str, Any]],
    revision: int = 0,
) -> dict[str, Any]:
    """The sealed record of one device's window, from the readings it received."""
    ordered = sorted(
        ({k: v for k, v in r.items() if k != "device"} for r in readings),
        key=lambda r: (int(r["seq"]), int(r["time"])),
    )
    seqs = [int(r["seq"]) for r in ordered]
    distinct = sorted(set(seqs))
    gaps = _gaps(distinct)
    return {
        "format": FORMAT,
        "measurement": MEASUREMENT,
        "device": device,
        "window_start": _iso(start_ns),
        "window_end": _iso(end_ns),
        "revision": revision,
        "count": len(ordered),
        "first_seq": seqs[0] if seqs else None,
        "last_seq": seqs[-1] if seqs else None,
        "gaps": gaps,
        "missing": sum(b - a + 1 for a, b in gaps),
        "repeated_seqs": len(seqs) - len(distinct),
        "locations": sorted({str(r["location"]) for r in ordered}),
        "leaf": LEAF_RULE,
        "merkle_root": merkle_root([reading_leaf({**r, "device": device}) for r in ordered]).hex(),
        "readings": ordered,
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
    """Seals the windows the drain pipeline filed readings into, in a thread of its own."""

    def __init__(
        self,
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
        supervisor: Supervisor | None = None,
    ) -> None:
        self._supervisor = supervisor or Supervisor()
        self._port = port
        self._store = store
        self._window_ns = window_s * 10**9
        self._grace_ns = int(grace_s * 1e9)
        self._quiet_ns = int(quiet_s * 1e9)
        self._check_s = check_s
        self._retain_ns = int(retain_s * 1e9)
        self._gateway_id = gateway_id
        self._clock_ns = clock_ns
        self._component: Component | None = None
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
                    scope = leaf_scope(device, start)
                    forget += [(scope, k, None) for k in self._store.state(scope)]
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
            filed = self._store.state(leaf_scope(device, start)).values()
            readings = [json.loads(value) for value in filed]
            key = window_key(device, start)
            if not readings:
                # Touched by a gateway that did not file readings yet (state from before
                # the upgrade): sealing it empty would contradict InfluxDB, so skip it.
                log.warning("window %s has no filed readings: not sealed", key)
                self._store.complete([], [(TOUCH_SCOPE, key, None), (SEAL_SCOPE, key, None)])
                continue
            record = window_record(device, start, start + self._window_ns, readings, revision)
            record["gateway"] = self._gateway_id
            self._port.submit(KIND, record)
            self._store.complete(
                [],
                [(SEAL_SCOPE, key, json.dumps({"touch": touch, "revision": revision}))],
            )
            log.info(
                "telemetry window sealed: %s %s rev %d, %d readings, %d missing, root %s",
                device, record["window_start"], revision, record["count"], record["missing"],
                record["merkle_root"],
            )  # fmt: skip
            done += 1
        self.sealed += done
        return done

    def _run(self, component: Component) -> None:
        # An outage of the port waits for the next check; any other error is the
        # supervisor's (component ``gateway.evidence``): logged, the loop restarted.
        while not component.stopping.wait(self._check_s):
            try:
                self.seal_due()
            except GatewayError as exc:
                log.warning("evidence sealing postponed: %s", exc)
                component.failed(exc)
            else:
                component.succeeded()

    def start(self) -> None:
        self._component = self._supervisor.spawn(
            COMPONENT, self._run, thread_name="gateway-evidence"
        )

    def stop(self) -> None:
        if self._component is not None:
            self._component.stop(timeout=30)
