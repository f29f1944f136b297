"""Done-when of issue #15: every GS1 example capture document, JSON-LD and XML, is captured
through ``POST /capture`` of the real app as a trading partner sends it (the file's bytes,
its media type), and posting it again creates nothing new. The list of examples and of
the files that are no capture documents is the conformance test's
(tests/traceability/test_capture_conformance.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.support.epcis import captured
from tests.support.webapp import bearer
from tests.traceability.test_capture_conformance import CAPTURE_DOCUMENTS, EXAMPLES
from traceability.records.store import RecordStore
from web.app import create_app

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    from starlette.testclient import TestClient

    folder = tmp_path_factory.mktemp("examples")
    store = RecordStore.open(f"sqlite:///{folder / 'records.db'}")
    app = create_app(store, None, "test chain")
    return TestClient(app, headers=bearer(store, "capture", "read", name="partner-1"))


@pytest.mark.parametrize("name", CAPTURE_DOCUMENTS)
def test_every_example_is_captured_through_post_capture_once(client: TestClient, name: str) -> None:
    path = EXAMPLES / name
    media = "application/xml" if path.suffix == ".xml" else "application/ld+json"
    body = path.read_bytes()
    first = captured(client, body, headers={"Content-Type": media})
    assert (first["running"], first["success"], first["errors"]) == (False, True, []), first
    # (one XML example carries only master data in its header: a document of no events)
    assert first["eventCount"] == first["captured"]
    again = captured(client, body, headers={"Content-Type": media})
    assert again["success"], again
    assert (again["created"], again["duplicates"]) == (0, again["eventCount"])
