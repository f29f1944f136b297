"""Session fixtures that spawn the real services on free loopback ports.

mosquitto, influxd and anvil are the same binaries ``make demo`` runs; each
fixture gives a temp folder, waits for readiness and stops the process at the
end. Tests that restart or kill a service should use the function-scoped
``fresh_*`` variants so they do not disturb others.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from tests.support.events import GTIN
from tests.support.postgres import PostgreSQL
from traceability.records.store import RecordStore
from tracehub.services import Anvil, InfluxDB, Mosquitto

# The suite is deterministic: hypothesis draws the same examples every run (a fuzz finding
# becomes a regression test, never a red CI by chance). TRACEHUB_HYPOTHESIS=explore searches
# with fresh random examples and the example database, to hunt for new findings.
hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("TRACEHUB_HYPOTHESIS", "deterministic"))


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker


@pytest.fixture(scope="session")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxDB]:
    with InfluxDB(tmp_path_factory.mktemp("influxdb")) as server:
        yield server


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Anvil]:
    with Anvil(tmp_path_factory.mktemp("anvil")) as node:
        yield node


@pytest.fixture
def fresh_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def fresh_influxdb(tmp_path: Path) -> Iterator[InfluxDB]:
    with InfluxDB(tmp_path / "influxdb") as server:
        yield server


@pytest.fixture
def fresh_anvil(tmp_path: Path) -> Iterator[Anvil]:
    with Anvil(tmp_path / "anvil") as node:
        yield node


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgreSQL]:
    """A PostgreSQL server; ``.url`` is a SQLAlchemy URL (psycopg 3)."""
    with PostgreSQL(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture
def fresh_postgres(tmp_path: Path) -> Iterator[PostgreSQL]:
    with PostgreSQL(tmp_path / "postgres") as server:
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    records = RecordStore.open(f"sqlite:///{tmp_path / 'records.db'}")
    yield records
    records.close()


@pytest.fixture
def stocked(store: RecordStore) -> RecordStore:
    """A store with one chilled product and lot L1 holding serials 1001–1010."""
    store.add_product(GTIN, "Chilled salmon 200 g", temp_min_c=0.0, temp_max_c=4.0)
    store.add_lot(
        GTIN,
        "L1",
        expiry=date(2026, 12, 5),
        origin="NO",
        quantity=10,
        serials=range(1001, 1011),
    )
    return store
