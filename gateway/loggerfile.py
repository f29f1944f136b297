"""A data-logger file's readings into the hub's spool, the same way as a probe's.

``tracehub readings import`` runs in its own process: it shapes each reading of a
parsed export (``sensors.loggers``) as the temperature payload a probe publishes, on
the internal topic ``logger/{site}/{device}`` (gateway/decode.py), and appends them to
the running gateway's durable spool. The gateway then decodes, admits (clock without
the backfill window, the device's source: gateway/loggerdevice.py, placement, redelivery
vs conflict: gateway/admission.py), stores and seals them exactly like MQTT readings.
All readings of one import share one receive time, which identifies them in the spool
while they wait (``pending``).

``preview`` asks the admission rules ahead of the gateway (the same functions, the
device directory, the spool's ``accepted`` index and, given InfluxDB, whether the
device may take a logger file at all: gateway/loggerdevice.py), so the command can say
what will be refused and why before anything is queued; ``outcome`` says what became of them
once drained. Both read the gateway's SQLite files from this other process: the spool
through ``Spool``, the dead letters with one read-only query.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.admission import ClockRules, clock_check, conflict, digest, placement
from gateway.decode import LOGGER_TOPIC_PREFIX, Rejection, TemperatureObservation, decode
from gateway.devices.directory import DeviceDirectory, device_key
from gateway.errors import SpoolUnavailable
from gateway.lineprotocol import temperature_line, timestamp_ns
from gateway.loggerdevice import LOGGER_SCOPE, StoredReadings, logger_refusal
from gateway.spool import Incoming, Spool
from sensors.loggers.export import LoggerExport
from sensors.temperature import TemperatureReading

CHUNK = 1_000  # readings per spool transaction: one fsync each, progress between
STORED = "stored"  # written by the gateway (or already stored, same reading)
NEW = "new"
ALREADY = "already_stored"
PENDING = "pending"


def logger_topic(site: str, device_id: str) -> str:
    return f"{LOGGER_TOPIC_PREFIX}{site}/{device_id}"


@dataclass(frozen=True, slots=True)
class LoggerBatch:
    """One import's spool entries, all received at ``received_ns``."""

    site: str
    device_id: str
    received_ns: int
    items: tuple[Incoming, ...]

    @property
    def topic(self) -> str:
        return logger_topic(self.site, self.device_id)

    @property
    def device(self) -> str:
        """The identity username the directory knows the logger by."""
        return device_key(self.site, "temperature", self.device_id)


def logger_batch(
    export: LoggerExport, site: str, device_id: str, received_ns: int | None = None
) -> LoggerBatch:
    """The export's readings as the payloads a probe would publish (seq: the export's)."""
    when = time.time_ns() if received_ns is None else received_ns
    topic = logger_topic(site, device_id)
    items = tuple(
        Incoming(
            topic,
            TemperatureReading(
                device_id=device_id, seq=export.seq(r), ts=r.ts, celsius=r.celsius
            ).to_json(),
            when,
        )
        for r in export.readings
    )
    return LoggerBatch(site, device_id, when, items)


def _admitted(
    item: Incoming, directory: DeviceDirectory, rules: ClockRules, source: Rejection | None
) -> tuple[tuple[str, int], str] | Rejection:
    """((device, ts_ns), digest of the point) the gateway would store, or its rejection
    (in the pipeline's order: decode, clock, ``source`` refusing the device, placement)."""
    decoded = decode(item.topic, item.payload)
    if not isinstance(decoded, Rejection):
        decoded = clock_check(decoded, item.received_ns, rules, directory)
    if isinstance(decoded, Rejection):
        return decoded
    if source is not None:
        return source
    assert isinstance(decoded, TemperatureObservation)
    reading = decoded.reading
    device = device_key(decoded.site, "temperature", reading.device_id)
    where = placement(reading, directory, device)
    if isinstance(where, Rejection):
        return where
    line = temperature_line(decoded.site, reading, where)
    return (device, timestamp_ns(reading.ts)), digest(line)


def preview(
    batch: LoggerBatch,
    spool: Spool,
    directory: DeviceDirectory,
    rules: ClockRules,
    stored: StoredReadings | None = None,
) -> tuple[Counter[str], dict[str, str]]:
    """What the gateway will decide per reading: counts of ``new``, ``already_stored`` and
    each rejection code, and one reason per code (the first met). Without ``stored`` the
    device's source is left to the gateway."""
    counts: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    source = None
    if stored is not None and batch.device not in spool.state(LOGGER_SCOPE):
        source = logger_refusal(batch.device, stored.count_readings(batch.site, batch.device_id))
    admitted = [_admitted(item, directory, rules, source) for item in batch.items]
    indexed = spool.accepted_digests(a[0] for a in admitted if not isinstance(a, Rejection))
    seen: dict[tuple[str, int], str] = {}
    for found in admitted:
        if isinstance(found, Rejection):
            counts[found.code] += 1
            reasons.setdefault(found.code, found.reason)
            continue
        key, mark = found
        before = indexed.get(key, seen.get(key))
        if before is None:
            counts[NEW] += 1
            seen[key] = mark
        elif before == mark:
            counts[ALREADY] += 1
        else:
            refused = conflict(key[0], datetime.fromtimestamp(key[1] / 1e9, UTC))
            counts[refused.code] += 1
            reasons.setdefault(refused.code, refused.reason)
    return counts, reasons


def spool_batch(
    batch: LoggerBatch,
    spool: Spool,
    progress: Callable[[int], None] = lambda n: None,
    wait_s: float = 0.2,
) -> int:
    """Append ``batch`` in chunks, each after the spool has room (the gateway drains it
    meanwhile). The gateway, not this process, makes the device a logger device (its
    index then kept for good): only it can tell that InfluxDB holds no reading of it."""
    done = 0
    for start in range(0, len(batch.items), CHUNK):
        chunk = batch.items[start : start + CHUNK]
        size = sum(len(i.topic) + len(i.payload) for i in chunk)
        spool.resync()  # what the gateway drained since: this process's counters lag
        while spool.bytes > 0 and spool.bytes + size > spool.max_bytes:
            time.sleep(wait_s)  # another process drains: no event reaches this one
            spool.resync()
        if not spool.append(chunk):
            raise SpoolUnavailable(f"spool {spool.path} did not take the readings")
        done += len(chunk)
        progress(len(chunk))
    return done


def pending(batch: LoggerBatch, spool_path: Path) -> int:
    """How many of ``batch`` are still spooled (not yet drained by the gateway)."""
    return _count(
        spool_path,
        "SELECT COUNT(*) FROM spool WHERE topic = ? AND received_ns = ?",
        (batch.topic, batch.received_ns),
    )


def _count(path: Path, query: str, args: Sequence[object]) -> int:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0) as db:
            (n,) = db.execute(query, tuple(args)).fetchone()
    except sqlite3.Error as exc:
        raise SpoolUnavailable(f"cannot read {path}: {exc}") from exc
    return int(n)


def outcome(batch: LoggerBatch, spool: Spool, dead_letters: Path) -> Counter[str]:
    """What became of a drained batch: ``stored`` (the index holds this very reading),
    ``pending``, or the dead-letter code of each refused one."""
    keys = [
        (batch.device, timestamp_ns(TemperatureReading.model_validate_json(i.payload).ts))
        for i in batch.items
    ]
    stored = spool.accepted_digests(keys)
    codes = _dead_letter_codes(dead_letters, batch.topic)
    counts: Counter[str] = Counter()
    for key, item in zip(keys, batch.items, strict=True):
        # A dead letter may be from an earlier import that has been fixed since (placed
        # now): a stored point counts, unless the letter says it conflicts with it.
        code = codes.get(hashlib.sha256(item.payload).hexdigest())
        if key in stored and code != "conflict":
            counts[STORED] += 1
        else:
            counts[code or PENDING] += 1
    return counts


def _dead_letter_codes(path: Path, topic: str) -> dict[str, str]:
    """payload SHA-256 → reason code of the dead letters on ``topic``."""
    if not path.exists():
        return {}
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0) as db:
            rows = db.execute(
                "SELECT payload_sha256, code FROM dead_letter WHERE topic = ?", (topic,)
            ).fetchall()
    except sqlite3.Error as exc:
        raise SpoolUnavailable(f"cannot read dead letters {path}: {exc}") from exc
    return {str(sha): str(code) for sha, code in rows}
