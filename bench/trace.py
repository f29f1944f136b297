"""Traceability benchmark: ``python -m bench.trace [--quick]``.

Side by side, in one run, on this machine:

* capture throughput (events/s) of EPCIS documents of 100 events, SQLite and PostgreSQL:
  ceiling = storing pre-built rows (no validation, no hashing); tracehub = full capture
  (model validation, event hash ID, JSON Schema, EPC links); tracehub without the JSON
  Schema check; tracehub signed = as the hub captures (each event also signed into the
  ledger, with the sender's capture receipt);
* capture through ``POST /capture`` over HTTP (``bench.capturehttp``): the real server
  with the hub's capture-jobs worker, documents of 100 and of 1,000 events from 4
  concurrent clients, SQLite, from the first POST to the last job finished; and the
  hub's ``POST /capture`` with the ledger wired (1,000-event documents, signed);
* exposure of one lot with 90 days of 1-minute readings across 5 locations (648k points
  in a real influxd): tracehub's InfluxQL push-down vs the naive baseline that pulls every
  raw point into Python; the MKTs must agree (target < 300 ms);
* recall (where is every unit of lot X now) over 1,000,000 stored events (target
  < 500 ms); ``--quick`` uses 200,000;
* filtered ``GET /events`` queries over 1,000,000 events through the real server
  (``bench.eventquery``: p50/p99 per query beside ``/healthz`` as the ceiling; target
  p99 < 200 ms); ``--quick`` uses 200,000.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.capturehttp import http_capture_rate
from bench.eventquery import query_latencies
from bench.machine import describe
from gs1.epcis.event import epcis_document
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.postgres import PostgreSQL
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.coldchain.exposure import ExposureService
from traceability.coldchain.mkt import mean_kinetic_temperature
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.custody import CustodyService
from traceability.records.store import EpcLink, NewEvent, RecordStore
from tracehub.services import InfluxDB

GTIN = "04012345111118"
T0 = datetime(2026, 8, 1, tzinfo=UTC)
ROOMS = [f"urn:epc:id:sgln:4012345.00001.{i}" for i in range(1, 6)]
DB = "bench_trace"
HTTP_CLIENTS = 4
# Ten 1,000-event documents at least: with fewer (the quick run had two for four clients)
# the figure is the latency of a couple of documents, not a throughput.
HTTP_EVENTS = 10_000


def _event(serial: int, minute: int, location: str) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{serial}"],
        "action": "OBSERVE",
        "bizStep": "storing",
        "disposition": "in_progress",
        "readPoint": {"id": location},
    }


def _stocked(url: str, serials: range) -> RecordStore:
    store = RecordStore.open(url)
    store.add_product(GTIN, "Chilled salmon", 0.0, 4.0, excursion_budget_min=60, mkt_limit_c=4)
    store.add_lot(GTIN, "L1", serials=serials)
    return store


def capture_rates(url_for: Callable[[str], str], events: int) -> dict[str, float]:
    docs = [
        epcis_document(
            [_event(1000 + (i % 500), i, ROOMS[i % 5]) for i in range(d, d + 100)],
            T0,
        )
        for d in range(0, events, 100)
    ]
    rates: dict[str, float] = {}
    for name, schema, signed in (
        ("tracehub", True, False),
        ("tracehub_noschema", False, False),
        ("tracehub_signed", True, True),
    ):
        url = url_for(name)
        store = _stocked(url, range(1000, 1500))
        # signed: as the hub captures, each event signed into the ledger (same database)
        ledger = LedgerStore.open(url) if signed else None
        leaves = None if ledger is None else EventLeaves(ledger, Signer.generate("bench", T0))
        service = CaptureService(store, ledger=leaves, check_schema=schema)
        started = time.perf_counter()
        for doc in docs:
            report = service.capture_document(doc, source="bench")
            assert report.ok, report.errors[:1]
        rates[name] = events / (time.perf_counter() - started)
        store.close()
        if ledger is not None:
            ledger.close()
    store = _stocked(url_for("ceiling"), range(1000, 1500))
    rows = [
        NewEvent(
            id=f"e{i}",
            event_time=T0 + timedelta(minutes=i),
            type="ObjectEvent",
            biz_step="storing",
            read_point=ROOMS[i % 5],
            biz_location=None,
            body="{}",
            epcs=(EpcLink(epc=f"urn:epc:id:sgtin:4012345.011111.{1000 + i % 500}"),),
        )
        for i in range(events)
    ]
    started = time.perf_counter()
    for start in range(0, events, 100):
        store.store_events(rows[start : start + 100])
    rates["ceiling"] = events / (time.perf_counter() - started)
    store.close()
    return rates


def load_readings(url: str, days: int) -> int:
    with httpx.Client(timeout=60) as client:
        client.post(f"{url}/query", params={"q": f"CREATE DATABASE {DB}"})
        total = 0
        batch: list[str] = []
        for room_index, room in enumerate(ROOMS):
            for minute in range(days * 24 * 60):
                celsius = 2.5 + room_index * 0.2 + (3.0 if minute % 5000 < 20 else 0.0)
                ns = int((T0 + timedelta(minutes=minute)).timestamp()) * 10**9
                batch.append(
                    f"temperature,site=b,location={room},device=p{room_index} "
                    f"celsius={celsius:.2f} {ns}"
                )
                if len(batch) == 5000:
                    client.post(
                        f"{url}/write",
                        params={"db": DB, "precision": "ns"},
                        content="\n".join(batch).encode(),
                    )
                    total += len(batch)
                    batch = []
        if batch:
            client.post(
                f"{url}/write",
                params={"db": DB, "precision": "ns"},
                content="\n".join(batch).encode(),
            )
            total += len(batch)
    return total


def median_ms(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under 2 minutes")
    args = parser.parse_args()
    capture_events = 2_000 if args.quick else 10_000
    recall_events = 200_000 if args.quick else 1_000_000
    days = 90

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"machine: {describe()}")
        sqlite = capture_rates(
            lambda name: f"sqlite:///{folder / f'cap-{name}.db'}", capture_events
        )
        with PostgreSQL(folder / "pg") as pg:
            engine_url = pg.url
            import sqlalchemy as sa

            admin = sa.create_engine(engine_url, isolation_level="AUTOCOMMIT")

            def pg_url(name: str) -> str:
                with admin.connect() as conn:
                    conn.execute(sa.text(f"CREATE DATABASE cap_{name}"))
                return engine_url.rsplit("/", 1)[0] + f"/cap_{name}"

            postgres = capture_rates(pg_url, capture_events)
            admin.dispose()
        over_http = {
            size: http_capture_rate(folder / f"http-{size}.db", HTTP_EVENTS, size, HTTP_CLIENTS)
            for size in (100, 1000)
        }
        # The hub's POST /capture: each event also signed into the ledger before it is stored.
        signed_http = http_capture_rate(
            folder / "http-signed.db", HTTP_EVENTS, 1000, HTTP_CLIENTS, signed=True
        )

        # Exposure ---------------------------------------------------------------
        with InfluxDB(folder / "influx") as influx:
            points = load_readings(influx.url, days)
            store = _stocked(f"sqlite:///{folder / 'exp.db'}", range(1000, 1010))
            capture = CaptureService(store)
            for i, room in enumerate(ROOMS):
                capture.capture(_event(1000, i * days * 24 * 60 // 5, room))
            until = T0 + timedelta(days=days)
            with InfluxTemperatureReader(influx.url, DB, timeout=60) as reader:
                service = ExposureService(store, reader)
                ours = service.exposure(GTIN, "L1", until=until)
                custody = CustodyService(store)

                def naive() -> float:
                    raw: list[float] = []
                    for location, spans in custody.lot_timeline(GTIN, "L1").locations().items():
                        for start, end in spans:
                            raw.extend(
                                p.celsius for p in reader.points(location, start, end or until)
                            )
                    return mean_kinetic_temperature([(c, 1.0) for c in raw])

                naive_mkt = naive()
                exposure_ms = median_ms(lambda: service.exposure(GTIN, "L1", until=until), 5)
                naive_ms = median_ms(naive, 3 if not args.quick else 1)
            store.close()

        # Recall -------------------------------------------------------------------
        store = _stocked(f"sqlite:///{folder / 'recall.db'}", range(1, 2001))
        # Background: many lots' worth of events; the recalled lot L1 has 2000 units.
        batch: list[NewEvent] = []
        for i in range(recall_events):
            in_lot = i % 500 == 0
            serial = (i // 500) % 2000 + 1 if in_lot else 100_000 + i
            batch.append(
                NewEvent(
                    id=f"e{i}",
                    event_time=T0 + timedelta(seconds=i),
                    type="ObjectEvent",
                    biz_step="storing",
                    read_point=ROOMS[i % 5],
                    biz_location=None,
                    body="{}",
                    epcs=(
                        EpcLink(
                            epc=f"urn:epc:id:sgtin:4012345.011111.{serial}",
                            gtin=GTIN if in_lot else None,
                            serial=str(serial),
                            lot="L1" if in_lot else None,
                        ),
                    ),
                )
            )
            if len(batch) == 20_000:
                store.store_events(batch)
                batch = []
        if batch:
            store.store_events(batch)
        recall = CustodyService(store)
        units = len(recall.where_now(GTIN, "L1"))
        recall_ms = median_ms(lambda: recall.where_now(GTIN, "L1"), 3)
        store.close()

    # Query ----------------------------------------------------------------------------
    query = query_latencies(recall_events, 100 if args.quick else 200)

    print()
    print("capture throughput, EPCIS documents of 100 events (events/s; ratio to ceiling)")
    print(f"{'contender':<22}{'SQLite':>12}{'ratio':>8}{'PostgreSQL':>14}{'ratio':>8}")
    for name in ("ceiling", "tracehub", "tracehub_noschema", "tracehub_signed"):
        print(
            f"{name:<22}{sqlite[name]:>12,.0f}{sqlite[name] / sqlite['ceiling']:>8.2f}"
            f"{postgres[name]:>14,.0f}{postgres[name] / postgres['ceiling']:>8.2f}"
        )
    print(
        f"{'POST /capture, HTTP':<22}{over_http[100]:>12,.0f}"
        f"{over_http[100] / sqlite['ceiling']:>8.2f}   (100-event documents, "
        f"{HTTP_CLIENTS} clients, {HTTP_EVENTS:,} events, to the last job finished)"
    )
    print(
        f"{'POST /capture, HTTP':<22}{over_http[1000]:>12,.0f}"
        f"{over_http[1000] / sqlite['ceiling']:>8.2f}   (1,000-event documents)"
    )
    print(
        f"{'POST /capture, signed':<22}{signed_http:>12,.0f}"
        f"{signed_http / sqlite['ceiling']:>8.2f}   (1,000-event documents, each event "
        f"signed into the ledger as the hub does; target 10,000)"
    )
    ratio = naive_ms / exposure_ms
    print()
    print(f"exposure, 1 lot, {days} days x 1-min readings x 5 locations ({points:,} points)")
    print(f"{'tracehub (1d/1h InfluxQL buckets, raw at events)':<48}{exposure_ms:>10.1f} ms")
    print(f"{'naive (all raw points into Python)':<48}{naive_ms:>10.1f} ms   x{ratio:.1f}")
    print(f"MKT tracehub {ours.mkt_c:.3f} °C, naive {naive_mkt:.3f} °C; status {ours.status}")
    print()
    print(f"recall of lot L1 ({units} units) over {recall_events:,} events: {recall_ms:.1f} ms")
    print()
    print(f"GET /events over {recall_events:,} events (p50 / p99 ms; healthz is the ceiling)")
    for name in sorted(k.removesuffix("_p50_ms") for k in query if k.endswith("_p50_ms")):
        print(f"{name:<28}{query[name + '_p50_ms']:>10.1f}{query[name + '_p99_ms']:>10.1f}")
    print(
        f"RESULT trace capture_events_s={sqlite['tracehub']:.0f} "
        f"capture_http_events_s={over_http[1000]:.0f} "
        f"capture_http_events_s_100={over_http[100]:.0f} "
        f"capture_http_signed_events_s={signed_http:.0f} "
        f"capture_signed_events_s={sqlite['tracehub_signed']:.0f} "
        f"capture_events_s_pg={postgres['tracehub']:.0f} exposure_ms={exposure_ms:.1f} "
        f"recall_ms={recall_ms:.1f} exposure_ratio_naive={ratio:.1f} "
        f"recall_events={recall_events} points={points} "
        f"query_worst_p99_ms={query['worst_p99_ms']:.1f} "
        f"query_match_epc_p99_ms={query['MATCH_epc_p99_ms']:.1f}"
    )


if __name__ == "__main__":
    main()
