"""Evidence bundles: build, verify offline, and every kind of tampering is named."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from ledger.evidence import BUNDLE_FORMAT, build_bundle
from ledger.evm.reader import ChainReader
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.verify.trust import TrustAnchors, from_keys
from ledger.verify.verifier import Outcome, Verdict, verify_bundle
from ledger.worker import AnchorWorker
from tests.ledger.conftest import T0, Embedded

RECORDS = {f"r{i}": {"n": i, "text": f"event {i}", "nested": {"ok": True}} for i in range(5)}


def _records(kind: str, record_id: str) -> Any:
    return copy.deepcopy(RECORDS.get(record_id))


@pytest.fixture
def anchored(ledger: LedgerStore, signer: Signer, embedded: Embedded) -> dict[str, Any]:
    for i, (rid, record) in enumerate(RECORDS.items()):
        streams = ["lot:A"] if i % 2 == 0 else ["lot:A", "lot:B"]
        ledger.submit("test-record", rid, record, streams, signer, T0 + timedelta(seconds=i))
    ledger.submit("other", "x", {"unrelated": 1}, ["lot:C"], signer, T0)
    AnchorWorker(ledger, embedded.sender, "w").step(flush=True)
    return build_bundle(ledger, {"lot": "A"}, ["lot:A", "lot:B"], _records, signer, T0)


@pytest.fixture
def trust(signer: Signer, embedded: Embedded) -> TrustAnchors:
    """The site's key and contract, as an auditor got them from outside the bundle."""
    return from_keys([signer.public], "test trust", [(None, embedded.address)])


def test_bundle_verifies_offline_and_online(
    anchored: dict[str, Any], embedded: Embedded, trust: TrustAnchors
) -> None:
    assert anchored["format"] == BUNDLE_FORMAT == "tracehub-evidence/2"
    assert len(anchored["items"]) == 5  # lot:C's entry is not part of it
    json.dumps(anchored)  # plain JSON
    offline = verify_bundle(anchored, trust=trust)
    assert offline.verdict is Verdict.ANCHORS_NOT_CHECKED, offline.failures  # never VERIFIED
    skipped = [c for c in offline.checks if c.outcome is Outcome.SKIPPED]
    assert skipped
    assert all("offline" in c.detail for c in skipped)
    online = verify_bundle(anchored, ChainReader(embedded.w3), trust)
    assert online.verdict is Verdict.VERIFIED, online.failures
    assert online.trust == "test trust"
    assert not [c for c in online.checks if c.outcome is Outcome.SKIPPED]
    # Without a trust anchor the same bundle is only self-consistent, online or not.
    alone = verify_bundle(anchored, ChainReader(embedded.w3))
    assert alone.verdict is Verdict.NOT_ATTRIBUTED
    assert [c.name for c in alone.not_checked] == ["trust"]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))
    else:
        yield prefix


def _mutate(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        if all(c in "0123456789abcdef" for c in value) and value:
            return ("0" if value[0] != "0" else "1") + value[1:]  # still hex, other value
        return value + "x"
    if value is None:
        return "x"
    raise AssertionError(value)


def test_every_field_change_is_detected(anchored: dict[str, Any], trust: TrustAnchors) -> None:
    """Change any one field anywhere in the bundle: never VERIFIED, and a check says where."""
    paths = list(_paths(anchored))
    assert len(paths) > 100
    for path in paths:
        bundle = copy.deepcopy(anchored)
        target = bundle
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = _mutate(target[path[-1]])
        report = verify_bundle(bundle, trust=trust)
        assert report.verdict is Verdict.TAMPERED, path
        assert report.failures, path


def test_altered_record_names_it(anchored: dict[str, Any]) -> None:
    anchored["items"][2]["record"]["text"] = "rewritten"
    report = verify_bundle(anchored)
    (failure,) = report.failures
    assert (failure.name, failure.record_id) == ("record", "r2")


def test_dropped_event_is_named(anchored: dict[str, Any]) -> None:
    del anchored["items"][1]
    anchored["manifest"] = None  # even without the manifest, the chain says what is missing
    report = verify_bundle(anchored)
    assert report.verdict is Verdict.TAMPERED
    details = " ".join(c.detail for c in report.failures)
    assert "seq 1 is missing" in details


def test_dropped_last_event_needs_the_signed_stream_length(anchored: dict[str, Any]) -> None:
    anchored["items"].pop()
    anchored["streams"][0]["length"] -= 1
    report = verify_bundle(anchored)
    assert report.verdict is Verdict.TAMPERED
    assert any("streams" in c.detail for c in report.failures)


def test_reordered_events_are_named(anchored: dict[str, Any]) -> None:
    items = anchored["items"]
    items[1]["record"], items[2]["record"] = items[2]["record"], items[1]["record"]
    report = verify_bundle(anchored)
    assert {c.record_id for c in report.failures if c.name == "record"} == {"r1", "r2"}


def test_forged_signature_and_proof_are_named(anchored: dict[str, Any]) -> None:
    anchored["items"][0]["entry"]["signature"]["value"] = "00" * 64
    anchored["items"][3]["proof"][0] = "11" * 32
    report = verify_bundle(anchored)
    named = {(c.name, c.record_id) for c in report.failures}
    assert ("signature", "r0") in named
    assert ("inclusion", "r3") in named


def test_signature_outside_key_validity_fails(ledger: LedgerStore, signer: Signer) -> None:
    # Submitting refuses such a signer (test_entrylog); a bundle can still claim a
    # period that does not cover the signature, and the verifier must say so.
    ledger.submit("test-record", "late", {"x": 1}, ["lot:L"], signer, T0)
    bundle = build_bundle(ledger, {}, ["lot:L"], lambda k, r: {"x": 1}, None, T0)
    bundle["keys"][0]["valid_until"] = "2026-05-31T10:00:00.000000Z"
    report = verify_bundle(bundle)
    (failure,) = [c for c in report.failures if c.outcome is Outcome.FAIL]
    assert failure.name == "signature"
    assert "outside key" in failure.detail
    assert "2026-01-01T00:00:00.000000Z to 2026-05-31T10:00:00.000000Z" in failure.detail


def test_pending_bundle_is_not_yet_anchored(ledger: LedgerStore, signer: Signer) -> None:
    ledger.submit("test-record", "p", {"x": 1}, ["lot:P"], signer, T0)
    report = verify_bundle(build_bundle(ledger, {}, ["lot:P"], lambda k, r: {"x": 1}, signer, T0))
    assert report.verdict is Verdict.NOT_ANCHORED
    assert [c.outcome for c in report.checks if c.name == "inclusion"] == [Outcome.PENDING]


def test_not_a_bundle(anchored: dict[str, Any]) -> None:
    assert verify_bundle([1, 2]).verdict is Verdict.TAMPERED
    anchored["format"] = "tracehub-evidence/0"
    assert verify_bundle(anchored).failures[0].name == "format"


def test_without_the_manifest_the_lots_tail_is_reported_unchecked(
    anchored: dict[str, Any], trust: TrustAnchors
) -> None:
    """A stripped bundle that also lost its newest event is self-consistent: the
    verifier cannot see the loss, and says exactly that instead of passing it over."""
    anchored["manifest"] = None
    anchored["subject"] = {"type": "lot", "gtin": "04012345111118", "lot": "A"}
    last = anchored["items"].pop()
    assert [link["seq"] for link in last["entry"]["links"]] == [4]
    anchored["streams"][0]["length"] -= 1
    anchored["streams"][0]["head"] = anchored["items"][-1]["leaf_hash"]
    report = verify_bundle(anchored, trust=trust)
    assert report.verdict is Verdict.ANCHORS_NOT_CHECKED, report.failures
    unchecked = [c for c in report.not_checked if c.name == "completeness"]
    assert [c.subject for c in unchecked] == ["stream lot:A", "stream lot:B"]
    assert all(
        c.detail.startswith("could not check: completeness of the lot's tail") for c in unchecked
    )
    assert "length (4)" in unchecked[0].detail


def test_with_the_manifest_a_cut_tail_is_tampering(anchored: dict[str, Any]) -> None:
    anchored["items"].pop()
    anchored["streams"][0]["length"] -= 1
    anchored["streams"][0]["head"] = anchored["items"][-1]["leaf_hash"]
    report = verify_bundle(anchored)
    assert report.verdict is Verdict.TAMPERED
    assert not [c for c in report.checks if c.name == "completeness"]
    (failure,) = report.failures
    assert failure.name == "bundle signature"
    assert "streams" in failure.detail
