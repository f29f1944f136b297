"""``/.well-known/tracehub.json``: the site's trust anchors, cacheable, read from the keys
at each request, problem+json when there is none or it cannot be built."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.errors import KeyStoreError
from ledger.signing import PublicKey, Signer, fingerprint_of
from ledger.verify.trust import anchors_from_document
from tests.support.webapp import app_for, make_client
from traceability.records.store import RecordStore
from web.wellknown import TrustPublisher

# Starlette 1.10's test client warns (at import) that it wants the `httpx2` package; the
# warning is about the test tool's transport, not our code.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Using `httpx` with `starlette.testclient` is deprecated"
)

CONTRACT = "0x" + "ab" * 20
GENESIS = "0x" + "11" * 32


class FixedChain:
    def __init__(self) -> None:
        self.asked = 0

    def chain_id(self) -> int:
        self.asked += 1
        return 31337

    def genesis_hash(self) -> str:
        return GENESIS


def test_the_document_names_the_keys_and_the_contract(stocked: RecordStore) -> None:
    first = Signer.generate("site:w", datetime(2026, 1, 1, tzinfo=UTC))
    ring: list[PublicKey] = [first.public]
    chain = FixedChain()
    publisher = TrustPublisher("w", lambda: list(ring), chain, CONTRACT)
    with make_client(app_for(stocked, trust=publisher)) as client:
        answer = client.get("/.well-known/tracehub.json")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("application/json")
        assert answer.headers["cache-control"] == "public, max-age=300"
        assert answer.headers["access-control-allow-origin"] == "*"
        document = answer.json()
        assert document["format"] == "tracehub-trust/1"
        assert document["site"] == "w"
        assert document["public_url"] == "http://testserver"
        (key,) = document["keys"]
        assert key["key_id"] == first.key_id
        assert key["algorithm"] == "Ed25519"
        assert key["fingerprint"] == fingerprint_of(first.public.public_key)
        assert key["valid_from"] == "2026-01-01T00:00:00.000000Z"
        assert key["valid_until"] is None
        assert document["anchors"] == [
            {"chain_id": 31337, "contract": CONTRACT, "genesis_hash": GENESIS}
        ]
        anchors = anchors_from_document(document, "doc")  # what `verify --trust` reads
        assert anchors.keys[0].public == first.public

        etag = answer.headers["etag"]
        again = client.get("/.well-known/tracehub.json", headers={"If-None-Match": etag})
        assert again.status_code == 304
        # A rotation (in another process, on the keystore) shows at the next request.
        second = Signer.generate("site:w", datetime(2026, 6, 1, tzinfo=UTC))
        ring[0] = first.public.model_copy(update={"valid_until": datetime(2026, 6, 1, tzinfo=UTC)})
        ring.append(second.public)
        rotated = client.get("/.well-known/tracehub.json", headers={"If-None-Match": etag})
        assert rotated.status_code == 200
        assert [k["key_id"] for k in rotated.json()["keys"]] == [first.key_id, second.key_id]
        assert rotated.json()["keys"][0]["valid_until"] == "2026-06-01T00:00:00.000000Z"
    assert chain.asked == 1  # the chain's identity is read once


def test_no_trust_document_is_a_problem(stocked: RecordStore) -> None:
    with make_client(app_for(stocked)) as client:
        answer = client.get("/.well-known/tracehub.json")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "no trust document"


def test_unreadable_keys_are_a_problem(stocked: RecordStore) -> None:
    def broken() -> list[PublicKey]:
        raise KeyStoreError("keyring.json cannot be read as JSON")

    publisher = TrustPublisher("w", broken, None, None, "https://trace.example.com")
    with make_client(app_for(stocked, trust=publisher)) as client:
        answer = client.get("/.well-known/tracehub.json")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "keyring.json" in answer.json()["detail"]
    assert answer.headers["retry-after"] == "30"
