"""A real lot page served by uvicorn on loopback, and Debian's chromium driven by
Playwright (``playwright`` from PyPI, pointed at /usr/bin/chromium: no browser
download). Screenshots go to ``$TRACEHUB_ARTIFACTS_DIR/browser`` (default: a pytest
temp dir); the path is printed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.events import COLD_ROOM, DOCK, GTIN
from tests.support.webapp import (
    NOW,
    TODAY,
    FixedFootprint,
    Ledgered,
    SteppedSeries,
    add_places,
    capture_journey,
    ledgered,
)
from traceability.coldchain.exposure import ExposureService
from traceability.records.store import RecordStore
from web.app import create_app
from web.server import WebServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Site:
    url: str
    setup: Ledgered
    store: RecordStore


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("site") / "records.db"
    store = RecordStore.open(f"sqlite:///{path}")
    store.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    store.add_lot(GTIN, "L1", expiry=date(2026, 12, 5), origin="NO", quantity=10,
                  serials=range(1001, 1011))  # fmt: skip
    add_places(store)
    capture_journey(store)
    setup = ledgered(store, path)
    series = SteppedSeries({DOCK: [3.0, 2.8, 6.5, 3.1, 2.9], COLD_ROOM: [2.0, 2.2, 2.1, 1.9]})
    app = create_app(
        store,
        None,
        "embedded EVM",
        exposure=ExposureService(store, series, now=NOW),
        series=series,
        footprint=FixedFootprint(),
        evidence=setup.evidence,
        today=lambda: TODAY,
        now=lambda: NOW,
    )
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    try:
        yield Site(url=server.url, setup=setup, store=store)
    finally:
        server.stop()
        setup.ledger.close()
        store.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    # Playwright gives every launch a new empty profile directory of its own.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = os.environ.get("TRACEHUB_ARTIFACTS_DIR")
    target = Path(base) / "browser" if base else tmp_path_factory.mktemp("browser-artifacts")
    target.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {target}")
    return target
