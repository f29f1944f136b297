"""``GET /auditor/audit`` (``web.audittrail``): the audit trail for auditors, over a real
trail (records and ledger in one SQLite file): auditor scope only, filters, the ledger
state of each entry, CSV, and odd input answered 400."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.webapp import app_for, bearer, make_client
from tests.traceability.audit.conftest import GTIN, TrailSite
from traceability.audit.entry import AuditActor, AuditSubject

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)


@pytest.fixture
def trail(tmp_path: Path) -> Iterator[TrailSite]:
    site = TrailSite(f"sqlite:///{tmp_path / 'records.db'}")
    yield site
    site.close()


def test_auditors_read_the_trail_with_each_entrys_ledger_state(trail: TrailSite) -> None:
    trail.change(1)
    trail.change(2)
    trail.trail.record(
        AuditActor(name="li", kind="user", role="operator"),
        "incident.acknowledge",
        AuditSubject(kind="incident", key="inc-1"),
        {"state": "open"},
        {"state": "acknowledged"},
        "door was open",
    )
    app = app_for(trail.store, audit=trail.trail)
    auditor = bearer(trail.store, "auditor")
    with make_client(app) as client:
        assert client.get("/auditor/audit").status_code == 401
        assert client.get("/auditor/audit", headers=bearer(trail.store, "read")).status_code == 403
        every = client.get("/auditor/audit", headers=auditor)
        assert every.status_code == 200
        entries = every.json()["entries"]
        assert [e["action"] for e in entries] == [
            "master.product.update",
            "master.product.update",
            "incident.acknowledge",
        ]
        assert {e["ledger"] for e in entries} == {"signed"}  # signed at once, not anchored
        assert entries[2]["reason"] == "door was open"
        mine = client.get(
            "/auditor/audit", params={"actor": "li", "limit": "5"}, headers=auditor
        ).json()["entries"]
        assert [e["action"] for e in mine] == ["incident.acknowledge"]
        product = client.get(
            "/auditor/audit", params={"subject": GTIN, "kind": "product"}, headers=auditor
        ).json()["entries"]
        assert [e["after"] for e in product] == [{"name": "name 1"}, {"name": "name 2"}]
        sheet = client.get("/auditor/audit", params={"format": "csv"}, headers=auditor)
        assert sheet.status_code == 200
        assert sheet.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(sheet.text)))
        assert len(rows) == 3


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-12-01T10:00:00"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"format": "xml"}, "format"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_odd_input_is_a_400_naming_the_parameter(
    trail: TrailSite, query: dict[str, str], named: str
) -> None:
    app = app_for(trail.store, audit=trail.trail)
    with make_client(app) as client:
        answer = client.get("/auditor/audit", params=query, headers=bearer(trail.store, "auditor"))
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(named)
