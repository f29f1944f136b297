"""Who may call what (``web.access``): bearer tokens of API clients and their scopes,
JSON-only writes, the Host check; tried as an attacker would."""

from __future__ import annotations

import string
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.support.epcis import captured
from tests.support.events import GTIN, object_event
from tests.support.webapp import app_for, bearer, make_client
from tests.traceability.test_capture_document import document
from traceability.anchoring.bundle import lot_bundle
from traceability.anchoring.feeder import EventLeaves
from traceability.anchoring.receipts import RECEIPT_FORMAT, RECEIPT_KIND, captured_by
from traceability.capture import CaptureService
from traceability.records.store import RecordStore
from web.access import HostCheck, allowed_hosts
from web.problem import PROBLEM_TYPE

if TYPE_CHECKING:
    from starlette.testclient import TestClient

pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

JSON = {"Content-Type": "application/json"}


def test_without_a_valid_token_capture_is_refused_and_stores_nothing(
    stocked: RecordStore,
) -> None:
    issued = stocked.add_client("erp-1", ["capture"])
    token = issued.token
    with make_client(app_for(stocked)) as client:
        answers = {
            "none": client.post("/epcis/capture", json=document(object_event())),
            "basic": client.post(
                "/epcis/capture",
                json=document(object_event()),
                headers={"Authorization": "Basic eA=="},
            ),
            "wrong secret": client.post(
                "/epcis/capture",
                json=document(object_event()),
                headers={"Authorization": f"Bearer {token[:-2]}xx"},
            ),
            "garbage": client.post(
                "/epcis/capture",
                json=document(object_event()),
                headers={"Authorization": "Bearer ' OR 1=1 --"},
            ),
        }
    for why, response in answers.items():
        assert response.status_code == 401, why
        assert response.headers["content-type"] == PROBLEM_TYPE
        assert response.headers["www-authenticate"].startswith('Bearer realm="tracehub"')
        assert "Authorization" in response.json()["detail"], why
    assert answers["none"].json()["title"] == "credentials required"
    assert "'capture' scope" in answers["none"].json()["detail"]  # says what to send
    assert "tracehub clients add" in answers["none"].json()["detail"]
    assert answers["wrong secret"].json()["title"] == "unknown token"
    assert stocked.pending_events(limit=10) == []  # nothing was stored


def test_scopes_and_revocation(stocked: RecordStore) -> None:
    reader = bearer(stocked, "read", name="partner")
    writer = bearer(stocked, "capture", name="erp-1")
    with make_client(app_for(stocked)) as client:
        forbidden = client.post("/epcis/capture", json=document(object_event()), headers=reader)
        assert forbidden.status_code == 403
        assert forbidden.json()["title"] == "scope required"
        assert "partner lacks the 'capture' scope" in forbidden.json()["detail"]
        assert 'error="insufficient_scope"' in forbidden.headers["www-authenticate"]
        assert stocked.pending_events(limit=10) == []
        assert client.get("/epcis/events", headers=writer).status_code == 403  # no read
        assert client.get("/epcis/events", headers=reader).status_code == 200
        created = captured(client, document(object_event()), path="/capture", headers=writer)
        assert created["success"], created
        stocked.revoke_client("erp-1")  # takes effect at the next request
        revoked = client.post(
            "/epcis/capture", json=document(object_event(serial="1002")), headers=writer
        )
    assert revoked.status_code == 401
    assert revoked.json()["title"] == "token revoked"
    assert "erp-1 was revoked" in revoked.json()["detail"]
    assert len(stocked.pending_events(limit=10)) == 1


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",  # what a cross-site fetch or form may send without a preflight
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
        "application/json; charset=latin-1",
        "application/jsonx",
        "text/plain; application/json",
    ],
)
def test_writes_in_anything_but_json_are_refused(stocked: RecordStore, content_type: str) -> None:
    writer = bearer(stocked, "capture")
    body = b'{"type": "EPCISDocument"}'
    with make_client(app_for(stocked)) as client:
        headers = {**writer, "Content-Type": content_type} if content_type else writer
        response = client.post("/epcis/capture", content=body, headers=headers)
    assert response.status_code == 415, content_type
    assert response.headers["content-type"] == PROBLEM_TYPE
    assert "application/json" in response.json()["detail"]
    assert response.headers["accept-post"] == (
        "application/json, application/ld+json, application/xml, text/xml"
    )


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/ld+json", "Application/JSON; charset=UTF-8"],
)
def test_json_in_either_epcis_media_type_is_taken(stocked: RecordStore, content_type: str) -> None:
    import json

    with make_client(app_for(stocked), bearer(stocked, "capture")) as client:
        response = client.post(
            "/epcis/capture",
            content=json.dumps(document(object_event())).encode(),
            headers={"Content-Type": content_type},
        )
    assert response.status_code == 202, response.text


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda tid, secret: f"Bearer thc_{tid}_{secret}",
            st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
            st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=43, max_size=43),
        ),
    )
)
def test_no_forged_authorization_header_gets_in(stocked: RecordStore, header: str) -> None:
    """Random headers and well-formed tokens with guessed ids and secrets: never
    authenticated, never a server error."""
    if not stocked.clients():
        stocked.add_client("erp-1", ["admin"])
    clean = "".join(c for c in header if 32 <= ord(c) < 127)  # what HTTP can carry
    with make_client(app_for(stocked)) as client:
        response = client.get("/epcis/events", headers={"Authorization": clean})
    assert response.status_code == 401, clean


def test_a_capture_names_its_client_in_the_signed_receipt(
    stocked: RecordStore, tmp_path: Path
) -> None:
    ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    signer = Signer.generate("site:test", datetime(2026, 1, 1, tzinfo=UTC))
    capture = CaptureService(stocked, ledger=EventLeaves(ledger, signer))
    writer = bearer(stocked, "capture", name="erp-1")
    doc = document(object_event(), object_event(serial="1002"))
    with make_client(app_for(stocked, capture=capture), writer) as client:
        first = captured(client, doc)
        again = captured(client, doc, path="/epcis/capture")  # a redelivery: no second receipt
    assert (first["created"], again["created"]) == (2, 0)
    ids = sorted(event.id for event in stocked.query_events(gtin=GTIN, lot="L1"))
    bundle = lot_bundle(stocked, ledger, GTIN, "L1")
    receipts = [i for i in bundle["items"] if i["entry"]["kind"] == RECEIPT_KIND]
    assert len(receipts) == 1
    record = receipts[0]["record"]
    assert record["format"] == RECEIPT_FORMAT
    assert (record["source"], record["events"]) == ("erp-1", ids)
    assert captured_by(bundle) == dict.fromkeys(ids, "erp-1")
    ledger.close()


# the Host check ------------------------------------------------------------------------


def _hosted(public_url: str | None) -> TestClient:
    from starlette.testclient import TestClient

    async def ok(_request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[Route("/", ok)],
        middleware=[Middleware(HostCheck, hosts=allowed_hosts(public_url))],
    )
    return TestClient(app)


@pytest.mark.parametrize(
    "host",
    ["trace.example.com", "TRACE.example.com:443", "localhost:8000", "127.0.0.1", "[::1]:8000"],
)
def test_the_public_host_and_loopback_names_pass(host: str) -> None:
    with _hosted("https://trace.example.com") as client:
        assert client.get("/", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize(
    "host",
    [
        "attacker.example:8000",  # a name re-pointed at the hub (DNS rebinding)
        "trace.example.com.attacker.example",
        "evil@trace.example.com",
        "trace.example.com/x",
        "[::2]",
        "10.0.0.5:8000",
        "",
    ],
)
def test_any_other_host_gets_400(host: str) -> None:
    with _hosted("https://trace.example.com") as client:
        response = client.get("/", headers={"Host": host})
    assert response.status_code == 400, host
    assert response.headers["content-type"] == PROBLEM_TYPE
    assert response.json()["title"] == "wrong host"
    assert "trace.example.com" in response.json()["detail"]


def test_without_a_public_url_any_host_is_served() -> None:
    assert allowed_hosts(None) is None
    with _hosted(None) as client:
        assert client.get("/", headers={"Host": "anything.example"}).status_code == 200


def test_a_public_url_without_a_host_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="TRACEHUB_WEB_PUBLIC_URL"):
        allowed_hosts("trace.example.com")


def test_a_records_outage_is_a_503_not_a_way_in(stocked: RecordStore) -> None:
    from traceability.errors import StoreUnavailable
    from traceability.records.clients import Client

    class Down:
        def authenticate(self, token: str) -> Client | None:
            raise StoreUnavailable("records database down (test)")

    token = stocked.add_client("erp-1", ["capture"]).token
    with make_client(app_for(stocked, clients=Down())) as client:
        response = client.post(
            "/epcis/capture",
            json=document(object_event()),
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 503
    assert response.json()["title"] == "records unavailable"
    assert stocked.pending_events(limit=10) == []


def test_an_api_route_without_a_declared_scope_is_never_served(
    stocked: RecordStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: a new route of web.api that nobody gave a scope stops the app."""
    from web import app as route_table

    monkeypatch.delitem(route_table.API_SCOPES, "/epcis/events")
    with pytest.raises(KeyError, match="/epcis/events"):
        app_for(stocked)
