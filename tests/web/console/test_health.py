"""The console's health page over FakeGate: the readiness report grouped (a degraded
component shown with its error), and the ledger's newest confirmed batch and queue from
a real SQLite ledger (anchored on the embedded EVM)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from starlette.applications import Starlette

from ledger.batch import AnchorTarget, BatchRecord, BatchStatus, PendingSummary
from ledger.errors import StoreUnavailable
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from supervision.status import ComponentState, ComponentStatus, Failure, Readiness, SetAside
from tests.support.consolegate import FakeGate
from tests.support.consolehtml import section, strip
from tests.support.webapp import ledgered, sign_captured
from traceability.records.store import RecordStore
from web.console.health import AnchoringLedger, HealthSource, grouped, health_routes
from web.console.render import ConsoleRenderer
from web.problem import Problem, handle_problem

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)
AT = datetime(2026, 11, 22, 11, 59, tzinfo=UTC)
VIEWER = {"X-Test-User": "vera:viewer"}


def component(name: str, *, error: str | None = None, detail: str | None = None) -> ComponentStatus:
    return ComponentStatus(
        name=name,
        state=ComponentState.RESTARTING if error else ComponentState.RUNNING,
        healthy=error is None,
        restarts=2 if error else 0,
        last_error=None if error is None else Failure.of(error, AT),
        detail=detail,
    )


class Report:
    def __init__(self, readiness: Readiness) -> None:
        self.report = readiness

    def readiness(self) -> Readiness:
        return self.report


DEGRADED = Readiness(
    components=(
        component("anchoring"),
        component("gateway.drain", detail="0 queued"),
        component("gateway.mqtt", error="broker at 127.0.0.1:1883 refused the connection"),
        component("alarms"),
        component("records", detail="answers"),
        component("chain", detail="block 12 on embedded EVM"),
    ),
    set_aside_count=1,
    set_aside=(
        SetAside(pipeline="ledger (cut)", record="epcis-event e1", reason="bad leaf", at=AT),
    ),
)


def client_for(source: HealthSource | None, ledger: AnchoringLedger | None) -> TestClient:
    from starlette.testclient import TestClient

    routes = health_routes(FakeGate(), ConsoleRenderer(), source, ledger=ledger)
    app = Starlette(routes=routes, exception_handlers={Problem: handle_problem})
    return TestClient(app, headers=VIEWER, follow_redirects=False)


def components(html: str) -> dict[str, tuple[str, str]]:
    """Component → (ready yes/no, its row's text)."""
    return {
        name: (ready, strip(row))
        for name, ready, row in re.findall(
            r'<tr data-component="([^"]+)" data-ready="(\w+)">(.*?)</tr>', html, re.S
        )
    }


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[LedgerStore]:
    store = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield store
    store.close()


def test_a_degraded_component_is_shown_with_its_error(ledger: LedgerStore) -> None:
    with client_for(Report(DEGRADED), ledger) as client:
        response = client.get("/console/health")
    assert response.status_code == 200
    html = response.text
    titles = re.findall(r'<section class="scroll" id="group-\w+">\s*<h2>(.*?)</h2>', html)
    assert titles == ["Gateway", "Anchoring", "Hub"]
    assert 'id="health-status">Some components are not working' in html
    shown = components(html)
    assert shown["gateway.mqtt"] == (
        "no",
        "gateway.mqtt not working restarting 2 "
        "Error: broker at 127.0.0.1:1883 refused the connection 2026-11-22 11:59 UTC",
    )
    assert shown["gateway.drain"] == ("yes", "gateway.drain working running 0 0 queued")
    # Grouped: the gateway's, the anchoring path's, the rest; each in report order.
    order = re.findall(r'<section class="scroll" id="group-(\w+)">', html)
    assert order == ["gateway", "anchoring", "other"]
    assert list(shown) == [
        "gateway.drain", "gateway.mqtt", "anchoring", "chain", "alarms", "records",
    ]  # fmt: skip
    assert "1 record(s) set aside" in html
    assert "ledger (cut) · epcis-event e1: bad leaf" in strip(html)
    assert "No batch has been confirmed on chain yet." in html
    assert "No record waits for a batch." in html


def test_all_ready(ledger: LedgerStore) -> None:
    ready = Readiness(components=(component("anchoring"), component("records")))
    with client_for(Report(ready), ledger) as client:
        html = client.get("/console/health").text
    assert 'id="health-status">Every component is working.' in html
    assert {ready for ready, _ in components(html).values()} == {"yes"}


def test_the_newest_confirmed_batch_and_the_queue(with_events: RecordStore, tmp_path: Path) -> None:
    anchored = ledgered(with_events, tmp_path / "anchored.db")
    try:
        (confirmed,) = anchored.ledger.confirmed_batches()
        with client_for(None, anchored.ledger) as client:
            html = client.get("/console/health").text
        assert confirmed.block_number is not None
        assert confirmed.confirmed_at is not None
        assert confirmed.tx_hash is not None
        stamp = confirmed.confirmed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        assert strip(section(html, "batches")).startswith(
            f"Anchored batches Newest confirmed batch: #{confirmed.id}, {confirmed.size} "
            f"record(s), block {confirmed.block_number}, {stamp}. "
            f"Transaction {confirmed.tx_hash}"
        )
        assert "No record waits for a batch." in html
        assert "No readiness report is connected to the console." in html
    finally:
        anchored.ledger.close()


def test_records_waiting_for_a_batch_are_counted(
    with_events: RecordStore, ledger: LedgerStore
) -> None:
    sign_captured(with_events, ledger, Signer.generate("site:test", AT))
    pending = ledger.pending()
    assert pending.count == 2  # the journey's two events
    assert pending.oldest_submitted_at is not None
    with client_for(None, ledger) as client:
        html = client.get("/console/health").text
    since = pending.oldest_submitted_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    assert f"2 record(s) wait for a batch, the oldest since {since}." in html


def test_nothing_wired_says_so() -> None:
    with client_for(None, None) as client:
        html = client.get("/console/health").text
    assert "No readiness report is connected to the console." in html
    assert "No ledger is connected to the console." in html
    assert "the hub has no reader of them" in html  # the AGV fleet: what is missing


class Unreachable:
    """A ledger whose database does not answer (what ``LedgerStore`` raises then)."""

    def pending(self) -> PendingSummary:
        raise StoreUnavailable("ledger database failed: connection refused")

    def anchor_targets(self) -> list[tuple[AnchorTarget, BatchStatus]]:
        raise StoreUnavailable("ledger database failed: connection refused")

    def newest_confirmed(self, target: AnchorTarget, limit: int) -> list[BatchRecord]:
        raise StoreUnavailable("ledger database failed: connection refused")


def test_a_ledger_that_does_not_answer_is_said_not_raised() -> None:
    with client_for(Report(DEGRADED), Unreachable()) as client:
        response = client.get("/console/health")
    assert response.status_code == 200
    error = section(response.text, "batches")
    assert "The ledger cannot be read now: StoreUnavailable: ledger database failed" in strip(error)
    assert "gateway.mqtt" in response.text  # the rest of the page is still there


def test_grouping_leaves_out_empty_groups() -> None:
    assert [g.name for g in grouped([component("records")])] == ["other"]
    assert grouped([]) == ()


def test_both_languages_render(ledger: LedgerStore) -> None:
    with client_for(Report(DEGRADED), ledger) as client:
        html = client.get("/console/health", params={"lang": "zh-CN"}).text
    assert '<html lang="zh-CN">' in html
    assert "部分组件未正常运行" in html
    assert "AGV 车队" in html


def test_the_page_needs_a_session() -> None:
    with client_for(None, None) as client:
        response = client.get("/console/health", headers={"X-Test-User": ""})
    assert response.status_code == 303
