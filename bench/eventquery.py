"""Filtered ``GET /events`` over a million events: p50/p99 latency per query over HTTP.

``python -m bench.eventquery [--quick]``. Seeds a SQLite records DB with 1M events
(100k with ``--quick``) of realistic bodies (ObjectEvents with EPCs, bizStep,
disposition, readPoint, bizLocation, a quantity or a sensor report on some), written as
the rows ``RecordStore.store_events`` writes, with ``executemany`` (``seed`` says why).
Then the real app is served by uvicorn (``web.server.WebServer``) and each query is
sent sequentially with varying values, beside the ceiling (``GET /healthz``, same server):

* ``EQ_bizStep`` + ``GE_eventTime``/``LT_eventTime`` (a one-day window),
* ``MATCH_epc`` (one instance),
* ``EQ_bizLocation`` (one of 50 places),
* ``EQ_bizStep`` + an extension filter that few events hold (bounded scan per page).

Target: p99 < 200 ms over 1M events. ``query_latencies`` is the entry point of
``bench.trace``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bench.machine import describe
from traceability.records.entities import EpcLink, NewEvent
from traceability.records.store import RecordStore
from web.app import create_app
from web.server import WebServer

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STEPS = ["receiving", "shipping", "storing", "picking", "packing", "loading", "inspecting"]
DISPOSITIONS = ["in_progress", "in_transit", "active", "sellable_accessible"]
PLACES = [f"urn:epc:id:sgln:4012345.{10 + i:05d}.0" for i in range(50)]
BATCH = 10_000
SPACING_S = 30  # one event every 30 s: 1M events span ~347 days


def _epc(i: int) -> str:
    return f"urn:epc:id:sgtin:4012345.0{11111 + i % 90:05d}.{i}"


def event_body(i: int) -> dict[str, object]:
    """The body of event ``i`` of the seed."""
    moment = T0 + timedelta(seconds=SPACING_S * i)
    body: dict[str, object] = {
        "type": "ObjectEvent",
        "eventTime": moment.isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [_epc(i), _epc(i + 1_000_000_000)],
        "action": "OBSERVE",
        "bizStep": STEPS[i % len(STEPS)],
        "disposition": DISPOSITIONS[i % len(DISPOSITIONS)],
        "readPoint": {"id": PLACES[i % len(PLACES)]},
        "bizLocation": {"id": PLACES[(i * 7) % len(PLACES)]},
    }
    if i % 3 == 0:
        body["quantityList"] = [
            {"epcClass": f"urn:epc:class:lgtin:4012345.011111.L{i % 500}", "quantity": i % 40}
        ]
    if i % 5 == 0:
        body["sensorElementList"] = [
            {"sensorReport": [{"type": "Temperature", "value": (i % 90) / 10, "uom": "CEL"}]}
        ]
    if i % 997 == 0:
        body["example:recall"] = "R-1"
    return body


def build_event(i: int) -> NewEvent:
    """Event ``i`` of the seed, as capture would store it (``RecordStore.store_events``)."""
    body = event_body(i)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return NewEvent(
        id=f"ni:///sha-256;{hashlib.sha256(text.encode()).hexdigest()}?ver=CBV2.0",
        event_time=T0 + timedelta(seconds=SPACING_S * i),
        type="ObjectEvent",
        biz_step=STEPS[i % len(STEPS)],
        read_point=PLACES[i % len(PLACES)],
        biz_location=PLACES[(i * 7) % len(PLACES)],
        body=text,
        epcs=(EpcLink(epc=_epc(i)), EpcLink(epc=_epc(i + 1_000_000_000))),
        action="OBSERVE",
        disposition=DISPOSITIONS[i % len(DISPOSITIONS)],
    )


def _db_time(moment: datetime) -> str:
    # SQLAlchemy's SQLite DateTime text (naive UTC), as the records store writes it
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def seed(path: Path, count: int) -> float:
    """Write ``count`` events into the records DB at ``path`` (created and migrated by
    ``RecordStore.open`` first); the events/s it ran at.

    The rows are those ``store_events`` writes, inserted with ``executemany`` while the
    events indexes are dropped and then rebuilt: a million rows in tens of seconds
    rather than the ~10 minutes of one capture transaction per batch on this machine.
    """
    RecordStore.open(f"sqlite:///{path}").close()
    started = time.perf_counter()
    recorded = datetime.now(UTC)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
            "AND tbl_name IN ('events', 'event_epcs')"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for start in range(0, count, BATCH):
            rows: list[tuple[object, ...]] = []
            links: list[tuple[str, str, str]] = []
            for i in range(start, min(count, start + BATCH)):
                event = build_event(i)
                rows.append(
                    (
                        event.id,
                        _db_time(event.event_time),
                        event.type,
                        event.biz_step,
                        event.read_point,
                        event.biz_location,
                        event.body,
                        _db_time(recorded + timedelta(microseconds=i)),
                        event.action,
                        event.disposition,
                    )
                )
                links.extend((event.id, link.epc, "epc") for link in event.epcs)
            conn.executemany(
                "INSERT INTO events (id, event_time, type, biz_step, read_point, biz_location, "
                "body, captured_at, action, disposition) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            conn.executemany("INSERT INTO event_epcs (event_id, epc, role) VALUES (?,?,?)", links)
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("ANALYZE")
    return count / (time.perf_counter() - started)


def _measure(client: httpx.Client, paths: list[str]) -> dict[str, float]:
    times: list[float] = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, round(0.99 * (len(times) - 1)))],
    }


def queries(count: int, rounds: int) -> dict[str, Callable[[int], str]]:
    days = count * SPACING_S // 86_400 or 1

    def window(k: int) -> str:
        day = T0 + timedelta(days=k * 7 % days)
        return (
            f"/events?EQ_bizStep={STEPS[k % len(STEPS)]}"
            f"&GE_eventTime={day.isoformat().replace('+00:00', 'Z')}"
            f"&LT_eventTime={(day + timedelta(days=1)).isoformat().replace('+00:00', 'Z')}"
        )

    return {
        "health (ceiling)": lambda k: "/healthz",
        "EQ_bizStep+eventTime day": window,
        "MATCH_epc": lambda k: f"/events?MATCH_epc={_epc(k * 7919 % count)}",
        "EQ_bizLocation": lambda k: f"/events?EQ_bizLocation={PLACES[k % len(PLACES)]}",
        "EQ_bizStep+extension": lambda k: (
            f"/events?EQ_bizStep={STEPS[k % len(STEPS)]}&EQ_example:recall=R-1"
        ),
    }


def _key(name: str) -> str:
    return name.split(" ")[0].replace("+", "_")  # "EQ_bizStep+eventTime day" → EQ_bizStep_eventTime


def measure_queries(count: int, rounds: int) -> tuple[float, dict[str, dict[str, float]]]:
    """The seed rate (events/s) and p50/p99 (ms) per query against ``count`` events."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.db"
        rate = seed(path, count)
        store = RecordStore.open(f"sqlite:///{path}")
        try:
            server = WebServer(create_app(store, None, "bench", public_read=True), "127.0.0.1", 0)
            server.start()
            try:
                found: dict[str, dict[str, float]] = {}
                with httpx.Client(base_url=server.url, timeout=60) as client:
                    for name, make in queries(count, rounds).items():
                        client.get(make(0)).raise_for_status()  # warm up
                        found[name] = _measure(client, [make(k) for k in range(rounds)])
                return rate, found
            finally:
                server.stop()
        finally:
            store.close()


def query_latencies(count: int = 1_000_000, rounds: int = 200) -> dict[str, float]:
    """For ``bench.trace``: ``<query>_p50_ms`` / ``<query>_p99_ms`` per query (keys as in
    this bench's RESULT line, e.g. ``MATCH_epc_p99_ms``), ``worst_p99_ms`` over the
    queries (the ceiling left out) and ``seed_events_per_s``."""
    rate, found = measure_queries(count, rounds)
    flat: dict[str, float] = {"seed_events_per_s": rate}
    for name, figures in found.items():
        flat[f"{_key(name)}_p50_ms"] = figures["p50_ms"]
        flat[f"{_key(name)}_p99_ms"] = figures["p99_ms"]
    flat["worst_p99_ms"] = max(v["p99_ms"] for k, v in found.items() if k != "health (ceiling)")
    return flat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k events, fewer requests")
    args = parser.parse_args()
    count = 100_000 if args.quick else 1_000_000
    rounds = 100 if args.quick else 200
    print(f"machine: {describe()}")
    seed_rate, results = measure_queries(count, rounds)
    print(f"{count:,} events seeded at {seed_rate:,.0f} events/s; {rounds} requests per query")
    print(f"{'query':<28}{'p50 ms':>10}{'p99 ms':>10}")
    for name, figures in results.items():
        print(f"{name:<28}{figures['p50_ms']:>10.1f}{figures['p99_ms']:>10.1f}")
    worst = max(v["p99_ms"] for k, v in results.items() if k != "health (ceiling)")
    keys = {
        "events": count,
        "worst_p99_ms": round(worst, 1),
        **{f"{_key(name)}_p99_ms": round(v["p99_ms"], 1) for name, v in results.items()},
        "target_p99_ms": 200,
        "ok": worst < 200,
    }
    print("RESULT eventquery " + " ".join(f"{k}={v}" for k, v in keys.items()))


if __name__ == "__main__":
    main()
