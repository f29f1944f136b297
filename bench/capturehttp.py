"""Capture through ``POST /capture`` over HTTP, as a trading partner sends it (used by
``bench.trace``).

The real web server (uvicorn, the hub's bounded protocol) on loopback, the app with a
started capture-jobs worker as the hub runs it, a SQLite records file; ``clients``
processes (partners are other programs: client threads here would take the server's
GIL) each post their share of the documents over their own HTTP connection. The
figure is events per second from the first POST to the last job finished (the worker
reports each finished job; nothing polls). ``signed=True`` wires the ledger as the hub
does (``EventLeaves`` over a ``LedgerStore`` in the same SQLite file, a site key): each
event is then also signed into its lot's hash chain with the sender's capture receipt
before it is stored, which is what the hub's ``POST /capture`` does.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from gs1.epcis.event import epcis_document
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from traceability.anchoring.feeder import EventLeaves
from traceability.capture import CaptureService
from traceability.capturejobs import CaptureJobs
from traceability.records.capturejobs import CaptureJob
from traceability.records.store import RecordStore
from web.app import create_app
from web.limits import Limits
from web.server import WebServer

GTIN = "04012345111118"
T0 = datetime(2026, 8, 1, tzinfo=UTC)
ROOMS = [f"urn:epc:id:sgln:4012345.00001.{i}" for i in range(1, 6)]


def _event(serial: int, second: int, location: str) -> dict[str, Any]:
    return {
        "type": "ObjectEvent",
        "eventTime": (T0 + timedelta(seconds=second)).isoformat().replace("+00:00", "Z"),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [f"urn:epc:id:sgtin:4012345.011111.{serial}"],
        "action": "OBSERVE",
        "bizStep": "storing",
        "disposition": "in_progress",
        "readPoint": {"id": location},
    }


def bodies(events: int, per_document: int) -> list[bytes]:
    """``events`` distinct events (each new to the repository) in documents."""
    return [
        json.dumps(
            epcis_document(
                [_event(1000 + i % 500, i, ROOMS[i % 5]) for i in range(d, d + per_document)],
                T0,
            )
        ).encode()
        for d in range(0, events, per_document)
    ]


def _ready(_n: int) -> None:
    """Holds a process a moment, so each of the pool's processes is started."""
    time.sleep(0.2)


def _send(url: str, headers: dict[str, str], share: list[bytes]) -> None:
    """One client: post each document and expect its 202 (in a process of its own)."""
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        for body in share:
            answer = http.post("/capture", content=body)
            assert answer.status_code == 202, answer.text


def http_capture_rate(
    db: Path, events: int, per_document: int, clients: int, *, signed: bool = False
) -> float:
    """Events per second captured through ``POST /capture`` (module docstring)."""
    store = RecordStore.open(f"sqlite:///{db}")
    ledger = LedgerStore.open(f"sqlite:///{db}") if signed else None
    leaves = (
        None
        if ledger is None
        else EventLeaves(ledger, Signer.generate("bench-site", datetime.now(UTC) - timedelta(1)))
    )
    store.add_product(GTIN, "Chilled salmon", 0.0, 4.0)
    store.add_lot(GTIN, "L1", serials=range(1000, 1500))
    token = store.add_client("bench", ["capture"]).token
    documents = bodies(events, per_document)
    done = threading.Event()
    finished: list[CaptureJob] = []
    lock = threading.Lock()

    def told(job: CaptureJob) -> None:
        with lock:
            finished.append(job)
            if len(finished) == len(documents):
                done.set()

    jobs = CaptureJobs(store, CaptureService(store, ledger=leaves), on_finished=told)
    # A backlog bound above the documents sent: the figure is throughput, not the 429
    # that would (rightly) tell a partner with 16 jobs queued to wait.
    limits = Limits(capture_running=len(documents) + 1)
    app = create_app(store, None, "bench", capture_jobs=jobs, limits=limits)
    server = WebServer(app, "127.0.0.1", 0)
    jobs.start()
    server.start()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    shares = [documents[n::clients] for n in range(clients)]
    try:
        httpx.get(f"{server.url}/healthz", timeout=10).raise_for_status()  # warm
        # Spawned, not forked: this process runs threads (uvicorn, the worker).
        with ProcessPoolExecutor(clients, mp_context=multiprocessing.get_context("spawn")) as pool:
            list(pool.map(_ready, range(clients)))  # the processes are up before the clock
            started = time.perf_counter()
            for sent in [pool.submit(_send, server.url, headers, share) for share in shares]:
                sent.result()
        assert done.wait(600), f"{len(finished)} of {len(documents)} jobs finished"
        seconds = time.perf_counter() - started
        if ledger is not None:  # every event signed, and one receipt per document
            signed_leaves = ledger.pending().count
            assert signed_leaves == events + len(documents), signed_leaves
    finally:
        server.stop()
        jobs.stop()
        store.close()
        if ledger is not None:
            ledger.close()
    failed = [job for job in finished if job.state != "success" or job.created != per_document]
    assert not failed, failed[:1]
    return events / seconds
