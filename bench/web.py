"""Lot page under load: p50/p99 latency and requests/s with 100 concurrent clients.

``python -m bench.web [--quick]``. One uvicorn server on loopback serves, side by side:

* the ceiling: a static file of the same size as the lot page (Starlette StaticFiles),
* tracehub: the lot page ``/01/{gtin}/10/{lot}`` as deployed (rendered once, cached),
* tracehub uncached: the same page rebuilt on every request (cache TTL 0), to show what
  the cache buys: each build joins the lot's custody with InfluxDB (exposure + chart),
  builds the evidence bundle and renders the template.

The lot: 5 places over 30 days (10 with --quick) of 1-minute readings in a real InfluxDB
(Debian influxd, spawned), 20 EPCIS events anchored on the embedded EVM through the
ledger. Load: ``wrk`` (Debian package; installed when missing), 2 threads, 100
connections. Targets: page p99 < 50 ms and within 3x of the static file's p99.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from bench.machine import describe
from ledger.evm.contract import AnchorContract, deploy_anchor_contract, embedded_web3
from ledger.evm.sender import AnchorSender, fund_account
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.worker import AnchorWorker
from traceability.anchoring.feeder import EventFeeder, EventLeaves
from traceability.anchoring.proofs import LedgerEvidence
from traceability.capture import CaptureService
from traceability.coldchain.exposure import ExposureService
from traceability.coldchain.telemetry import InfluxTemperatureReader
from traceability.records.locations import Location
from traceability.records.store import RecordStore
from tracehub.services import InfluxDB
from web.app import create_app
from web.pagecache import PageCache
from web.server import WebServer

GTIN = "04012345111118"
LOT = "L1"
DB = "benchweb"
PLACES = [f"urn:epc:id:sgln:4012345.00001.{i}" for i in range(5)]
CONNECTIONS = 100


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package) ...")
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return found


def load_readings(url: str, start: datetime, days: int) -> int:
    total = 0
    with httpx.Client(timeout=60) as client:
        client.post(f"{url}/query", params={"q": f"CREATE DATABASE {DB}"}).raise_for_status()
        batch: list[str] = []
        for index, place in enumerate(PLACES):
            for minute in range(days * 24 * 60):
                celsius = 2.5 + index * 0.2 + (4.0 if minute % 7000 < 15 else 0.0)
                ns = int((start + timedelta(minutes=minute)).timestamp()) * 10**9
                tags = f"site=b,location={place},device=p{index}"
                batch.append(f"temperature,{tags} celsius={celsius:.2f} {ns}")
                if len(batch) == 5000:
                    client.post(f"{url}/write", params={"db": DB, "precision": "ns"},
                                content="\n".join(batch)).raise_for_status()  # fmt: skip
                    total += len(batch)
                    batch = []
        if batch:
            client.post(f"{url}/write", params={"db": DB, "precision": "ns"},
                        content="\n".join(batch)).raise_for_status()  # fmt: skip
            total += len(batch)
    return total


def build_lot(url: str, start: datetime, days: int) -> tuple[RecordStore, LedgerEvidence]:
    store = RecordStore.open(url)
    store.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=6.0,
                      excursion_budget_min=60.0)  # fmt: skip
    store.add_lot(GTIN, LOT, expiry=date(2027, 1, 31), origin="NO", quantity=20,
                  serials=range(1001, 1021))  # fmt: skip
    for index, place in enumerate(PLACES):
        store.add_location(Location(urn=place, name=f"Cold store {index + 1}", kind="cold_room"))
    ledger = LedgerStore.open(url)
    signer = Signer.generate("site:bench", start)
    # Capture signs each event into the ledger (its receipt); the feeder only mirrors.
    capture = CaptureService(store, ledger=EventLeaves(ledger, signer))
    step = timedelta(days=days) / len(PLACES)
    for serial in range(1001, 1021):
        hop = (serial - 1001) % len(PLACES)
        capture.capture({
            "type": "ObjectEvent",
            "eventTime": (start + step * hop).isoformat().replace("+00:00", "Z"),
            "eventTimeZoneOffset": "+00:00", "action": "OBSERVE", "bizStep": "storing",
            "disposition": "in_progress", "readPoint": {"id": PLACES[hop]},
            "epcList": [f"urn:epc:id:sgtin:4012345.011111.{serial}"],
        })  # fmt: skip
    w3 = embedded_web3()
    address = deploy_anchor_contract(w3)
    sender = AnchorSender(w3, address, "0x" + os.urandom(32).hex())
    fund_account(w3, sender.sender, 10**18)
    AnchorContract(w3, address).set_anchorer(sender.sender, True)
    feeder = EventFeeder(store, ledger)
    feeder.sync()
    AnchorWorker(ledger, sender, "bench").step(flush=True)
    feeder.sync()
    return store, LedgerEvidence(store, ledger, signer)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(wrk: str, url: str, seconds: int) -> dict[str, float]:
    done = subprocess.run(
        [wrk, "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = done.stdout

    def latency(pct: str) -> float:
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert match, out
        return float(match.group(1)) * _UNITS[match.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert rps, out
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{out}")
    return {"p50": latency("50"), "p99": latency("99"), "rps": float(rps.group(1))}


def drain(cache: PageCache, quiet_s: float = 3.0, limit_s: float = 180.0) -> None:
    """Wait until the uncached app stops building pages (its backlog is done)."""
    deadline = time.monotonic() + limit_s
    seen = -1
    while cache.builds != seen and time.monotonic() < deadline:
        seen = cache.builds
        time.sleep(quiet_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller lot, shorter runs")
    args = parser.parse_args()
    days = 10 if args.quick else 30
    seconds = 8 if args.quick else 20
    wrk = ensure_wrk()
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now - timedelta(days=days)
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory() as tmp, InfluxDB(Path(tmp) / "influx") as influx:
        points = load_readings(influx.url, start, days)
        store, evidence = build_lot(f"sqlite:///{Path(tmp) / 'records.db'}", start, days)
        reader = InfluxTemperatureReader(influx.url, DB, timeout=60)
        exposure = ExposureService(store, reader)

        def app(cache: PageCache) -> Starlette:
            return create_app(store, reader, "embedded EVM", exposure=exposure, series=reader,
                              evidence=evidence, cache=cache)  # fmt: skip

        static_dir = Path(tmp) / "static"
        static_dir.mkdir()
        uncached = PageCache(0.0)
        site = Starlette(routes=[
            Mount("/bench-static", StaticFiles(directory=static_dir)),
            Mount("/nocache", app(uncached)),
            Mount("/", app(PageCache(300.0))),
        ])  # fmt: skip
        server = WebServer(site, "127.0.0.1", 0)
        server.start()
        try:
            path = f"/01/{GTIN}/10/{LOT}"
            page_url = server.url + path
            started = time.perf_counter()
            first = httpx.get(page_url, timeout=60)
            cold_ms = (time.perf_counter() - started) * 1000
            first.raise_for_status()
            (static_dir / "page.html").write_bytes(first.content)
            size = len(first.content)
            results = {
                "static file (ceiling)": run_wrk(
                    wrk, f"{server.url}/bench-static/page.html", seconds
                ),
                "tracehub lot page": run_wrk(wrk, page_url, seconds),
                "tracehub, no cache": run_wrk(
                    wrk, f"{server.url}/nocache/01/{GTIN}/10/{LOT}", max(4, seconds // 3)
                ),
            }
        finally:
            server.stop()
            drain(uncached)  # builds queued before the stop still run in the threadpool
            reader.close()
            store.close()
    ceiling = results["static file (ceiling)"]
    page = results["tracehub lot page"]
    print(f"lot page {size:,} bytes; {len(PLACES)} places x {days} days of 1-min readings "
          f"({points:,} points in InfluxDB), 20 events anchored; first (uncached) view "
          f"{cold_ms:.0f} ms")  # fmt: skip
    print(f"{CONNECTIONS} concurrent connections (wrk -t2), loopback, {seconds} s each")
    print(f"{'contender':26} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>9} {'p99 / ceiling':>14}")
    for name, r in results.items():
        print(f"{name:26} {r['p50']:8.2f} {r['p99']:8.2f} {r['rps']:9.0f} "
              f"{r['p99'] / ceiling['p99']:13.2f}x")  # fmt: skip
    ratio = page["p99"] / ceiling["p99"]
    verdict = "met" if page["p99"] < 50 and ratio <= 3 else "NOT met"
    print(f"target p99 < 50 ms and within 3x of the static file: {verdict}")
    print(
        f"RESULT web p50_ms={page['p50']:.2f} p99_ms={page['p99']:.2f} rps={page['rps']:.0f} "
        f"ratio_static={ratio:.2f} rps_ratio_static={ceiling['rps'] / page['rps']:.2f} "
        f"uncached_p99_ms={results['tracehub, no cache']['p99']:.1f} cold_ms={cold_ms:.0f} "
        f"page_bytes={size}"
    )


if __name__ == "__main__":
    main()
