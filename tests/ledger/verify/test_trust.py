"""Trust anchors from outside the bundle, tried as a dishonest operator or a forger would:
a bundle re-signed with another key, a backdated signature by a rotated-out key,
offline never VERIFIED, and a bundle of the previous format still checked."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import TrustError
from ledger.evidence import build_bundle
from ledger.evm.reader import ChainReader
from ledger.signing import Signer, fingerprint_of, format_instant
from ledger.store.sqlstore import LedgerStore
from ledger.verify.attribution import ANCHOR_GRACE
from ledger.verify.trust import (
    TrustAnchors,
    anchors_from_document,
    from_keys,
    key_from_text,
    trust_document,
)
from ledger.verify.verifier import Outcome, Verdict, verify_bundle
from ledger.worker import AnchorWorker
from tests.ledger.conftest import T0, Embedded, anchoring_account

GOLDEN_V1 = Path(__file__).parents[2] / "data" / "ledger" / "evidence" / "tracehub-evidence-1.json"
GOLDEN_KEY_ID = "ed25519:56475aa75463474c0285df5dbf2bcab7"
RECORDS = {f"r{i}": {"n": i, "bizStep": "receiving"} for i in range(3)}


def _records(kind: str, record_id: str) -> Any:
    return copy.deepcopy(RECORDS.get(record_id))


def _anchored_bundle(ledger: LedgerStore, signer: Signer, sender: Any) -> dict[str, Any]:
    for i, (rid, record) in enumerate(RECORDS.items()):
        ledger.submit("test-record", rid, record, ["lot:A"], signer, T0 + timedelta(seconds=i))
    AnchorWorker(ledger, sender, "w").step(flush=True)
    return build_bundle(ledger, {"lot": "A"}, ["lot:A"], _records, signer, datetime.now(UTC))


@pytest.fixture
def site(ledger: LedgerStore, signer: Signer, embedded: Embedded) -> dict[str, Any]:
    return _anchored_bundle(ledger, signer, embedded.sender)


@pytest.fixture
def site_trust(signer: Signer, embedded: Embedded) -> TrustAnchors:
    document = trust_document("site-test", None, [signer.public], 1, embedded.address)
    document["anchors"][0]["chain_id"] = ChainReader(embedded.w3).chain_id()
    return anchors_from_document(json.loads(json.dumps(document)), "https://site.test/doc")


def test_a_bundle_re_signed_with_another_key_fails_against_the_sites_trust(
    site_trust: TrustAnchors, signer: Signer, embedded: Embedded, tmp_path: Path
) -> None:
    """The forger builds a complete, self-consistent bundle of their own: their key, their
    records, anchored on the same chain in a contract of their own."""
    from ledger.evm.contract import AnchorContract, deploy_anchor_contract

    mallory = Signer.generate("site-test", datetime(2026, 1, 1, tzinfo=UTC))
    forged_ledger = LedgerStore.open(f"sqlite:///{tmp_path / 'forged.db'}")
    address = deploy_anchor_contract(embedded.w3)
    _key, sender = anchoring_account(embedded.w3, AnchorContract(embedded.w3, address), address)
    try:
        forged = _anchored_bundle(forged_ledger, mallory, sender)
    finally:
        forged_ledger.close()
    chain = ChainReader(embedded.w3)

    alone = verify_bundle(forged, chain)  # nothing contradicts itself...
    assert alone.verdict is Verdict.NOT_ATTRIBUTED, alone.failures  # ...and it is not VERIFIED

    report = verify_bundle(forged, chain, site_trust)
    assert report.verdict is Verdict.TAMPERED
    failing = {(c.name, c.record_id) for c in report.failures if c.outcome is Outcome.FAIL}
    assert {("signature", rid) for rid in RECORDS} <= failing
    signature = next(c for c in report.failures if c.name == "signature")
    assert mallory.key_id in signature.detail
    assert fingerprint_of(mallory.public.public_key) in signature.detail
    assert "https://site.test/doc" in signature.detail
    manifest = next(c for c in report.failures if c.name == "bundle signature")
    assert mallory.key_id in manifest.detail
    contract = next(c for c in report.failures if c.name == "contract")
    assert address in contract.detail

    # Trusted by its fingerprint (read off a label), the same verdict.
    by_print = verify_bundle(forged, chain, key_from_text(fingerprint_of(signer.public.public_key)))
    assert by_print.verdict is Verdict.TAMPERED
    # The forger's own fingerprint attributes it to the forger, and says so.
    theirs = key_from_text(fingerprint_of(mallory.public.public_key))
    assert verify_bundle(forged, chain, theirs).verdict is Verdict.VERIFIED
    assert verify_bundle(forged, chain, theirs).trust == (
        f"--trust {fingerprint_of(mallory.public.public_key)}"
    )


def test_only_the_manifest_re_signed_is_named(
    site: dict[str, Any], site_trust: TrustAnchors, embedded: Embedded
) -> None:
    from ledger.evidence import manifest_bytes, manifest_digests

    mallory = Signer.generate("site-test", datetime(2026, 1, 1, tzinfo=UTC))
    site["items"].pop()  # cut the newest event, and vouch for the shorter stream
    site["streams"][0]["length"] -= 1
    site["streams"][0]["head"] = site["items"][-1]["leaf_hash"]
    site["keys"].append(_key_json(mallory))
    digests = manifest_digests(site)
    signed_at = format_instant(datetime.now(UTC))
    value = mallory.sign(manifest_bytes(digests, mallory.key_id, signed_at))
    site["manifest"] = {
        "digests": digests,
        "signature": {"key_id": mallory.key_id, "signed_at": signed_at, "value": value.hex()},
    }
    assert verify_bundle(site).verdict is Verdict.NOT_ATTRIBUTED  # consistent on its own
    report = verify_bundle(site, ChainReader(embedded.w3), site_trust)
    (failure,) = report.failures
    assert failure.name == "bundle signature"
    assert mallory.key_id in failure.detail


def _key_json(signer: Signer) -> dict[str, Any]:
    from ledger.signing import key_to_json

    return key_to_json(signer.public)


def _rotated(days: float) -> Signer:
    """A key rotated out ``days`` after T0 (signatures at T0 fall in its period)."""
    return Signer.from_private_key(
        Ed25519PrivateKey.generate(),
        "site-test",
        datetime(2026, 1, 1, tzinfo=UTC),
        T0 + timedelta(days=days),
    )


def test_a_backdated_signature_by_a_rotated_out_key_fails_at_its_anchor_time(
    ledger: LedgerStore, embedded: Embedded
) -> None:
    """The key was rotated out a day after T0; long after, its holder signs entries that
    claim T0 and gets them anchored: the block time says when they really were."""
    old = _rotated(1)
    bundle = _anchored_bundle(ledger, old, embedded.sender)
    anchored_at = bundle["batches"][0]["anchor"]["block_time"]
    trust = from_keys([old.public], "the site's trust document")
    report = verify_bundle(bundle, ChainReader(embedded.w3), trust)
    assert report.verdict is Verdict.TAMPERED
    failures = [c for c in report.failures if c.name == "signature"]
    assert {c.record_id for c in failures} == set(RECORDS)
    detail = failures[0].detail
    assert old.key_id in detail
    assert format_instant(T0 + timedelta(days=1)) in detail  # when the key's validity ended
    assert anchored_at in detail  # when the chain says the batch was anchored
    assert "backdated" in detail
    manifest = next(c for c in report.failures if c.name == "bundle signature")
    assert "outside key" in manifest.detail  # the manifest, signed now, is out of period too

    # The bundle claiming the key never ended does not help: the trusted period decides.
    bundle["keys"][0]["valid_until"] = None
    bundle["manifest"] = None
    again = verify_bundle(bundle, ChainReader(embedded.w3), trust)
    assert {c.record_id for c in again.failures if c.name == "signature"} == set(RECORDS)
    # Nor does moving the anchor's block time back into the key's period: the chain says.
    bundle["batches"][0]["anchor"]["block_time"] = format_instant(T0 + timedelta(hours=1))
    moved = verify_bundle(bundle, ChainReader(embedded.w3), trust)
    (when,) = [c for c in moved.failures if c.name == "anchor time"]
    assert anchored_at in when.detail
    assert {c.record_id for c in moved.failures if c.name == "signature"} == set(RECORDS)


def test_a_signature_just_before_a_rotation_holds_in_the_next_batch(
    ledger: LedgerStore, embedded: Embedded, signer: Signer
) -> None:
    """Honest: signed before the rotation, anchored minutes after it (within the grace)."""
    bundle = _anchored_bundle(ledger, signer, embedded.sender)
    anchored_at = datetime.fromisoformat(bundle["batches"][0]["anchor"]["block_time"])
    rotated = signer.public.model_copy(update={"valid_until": anchored_at - timedelta(minutes=2)})
    bundle["manifest"] = None  # signed after the rotation by the old key: not this test's point
    trust = from_keys([rotated], "trust")
    report = verify_bundle(bundle, ChainReader(embedded.w3), trust)
    assert report.verdict is Verdict.VERIFIED, report.failures
    late = rotated.model_copy(update={"valid_until": anchored_at - ANCHOR_GRACE})
    report = verify_bundle(bundle, ChainReader(embedded.w3), from_keys([late], "trust"))
    assert report.verdict is Verdict.TAMPERED


def test_an_unanchored_entry_is_judged_now_and_pending(ledger: LedgerStore, signer: Signer) -> None:
    ledger.submit("test-record", "p", {"x": 1}, ["lot:P"], signer, T0)
    bundle = build_bundle(ledger, {}, ["lot:P"], lambda k, r: {"x": 1}, None, T0)
    report = verify_bundle(bundle, trust=from_keys([signer.public], "trust"))
    assert report.verdict is Verdict.NOT_ANCHORED
    (signature,) = [c for c in report.checks if c.name == "signature"]
    assert signature.outcome is Outcome.PENDING
    assert "judged by its batch's anchor time once anchored" in signature.detail
    closed = signer.public.model_copy(update={"valid_until": T0 + timedelta(days=1)})
    report = verify_bundle(bundle, trust=from_keys([closed], "trust"))
    (signature,) = [c for c in report.checks if c.name == "signature"]
    assert signature.outcome is Outcome.FAIL
    assert "not anchored" in signature.detail
    assert format_instant(T0 + timedelta(days=1)) in signature.detail


def test_offline_is_never_verified(site: dict[str, Any], site_trust: TrustAnchors) -> None:
    report = verify_bundle(site, None, site_trust)
    assert report.verdict is Verdict.ANCHORS_NOT_CHECKED
    assert "on chain" in {c.name for c in report.not_checked}
    assert verify_bundle(site).verdict is Verdict.NOT_ATTRIBUTED


def test_an_unpinned_contract_is_said(
    site: dict[str, Any], signer: Signer, embedded: Embedded
) -> None:
    report = verify_bundle(site, ChainReader(embedded.w3), key_from_text(signer.key_id))
    assert report.verdict is Verdict.VERIFIED, report.failures
    (contract,) = [c for c in report.not_checked if c.name == "contract"]
    assert "not pinned" in contract.detail
    assert embedded.address in contract.detail


def test_trust_anchors_are_read_strictly(signer: Signer) -> None:
    fingerprint = fingerprint_of(signer.public.public_key)
    assert key_from_text(fingerprint).keys[0].key_id == signer.key_id
    assert key_from_text(fingerprint.removeprefix("sha256:").upper()).keys[0].fingerprint == (
        fingerprint
    )
    assert key_from_text(signer.key_id).keys[0].fingerprint is None
    for junk in ("ed25519:1234", "sha256:xyz", "hello", fingerprint[:-1]):
        with pytest.raises(TrustError, match="is not a trust anchor"):
            key_from_text(junk)
    document = trust_document("s", "https://s.example", [signer.public], 31337, "0xabc")
    anchors = anchors_from_document(document, "doc")
    assert anchors.sources == ("doc (site s)",)
    assert anchors.keys[0].public == signer.public
    assert anchors.contracts[0].chain_id == 31337
    with pytest.raises(TrustError, match="format"):
        anchors_from_document({**document, "format": "x"}, "doc")
    with pytest.raises(TrustError, match="no signing key"):
        anchors_from_document({**document, "keys": []}, "doc")
    broken = copy.deepcopy(document)
    broken["keys"][0]["fingerprint"] = "sha256:" + "0" * 64
    with pytest.raises(TrustError, match="fingerprint"):
        anchors_from_document(broken, "doc")


def test_a_format_1_bundle_still_verifies_under_the_current_rules() -> None:
    golden = json.loads(GOLDEN_V1.read_text(encoding="utf-8"))
    assert golden["format"] == "tracehub-evidence/1"
    trust = key_from_text(GOLDEN_KEY_ID)
    report = verify_bundle(golden, None, trust)
    assert report.verdict is Verdict.ANCHORS_NOT_CHECKED, report.failures  # its chain is gone
    (fmt,) = [c for c in report.checks if c.name == "format"]
    assert fmt.outcome is Outcome.OK
    assert "tracehub-evidence/1: an older format" in fmt.detail
    assert verify_bundle(golden).verdict is Verdict.NOT_ATTRIBUTED
    golden["items"][1]["record"]["bizStep"] = "shipping"
    tampered = verify_bundle(golden, None, trust)
    assert {(c.name, c.record_id) for c in tampered.failures} == {("record", "e1")}
    golden["format"] = "tracehub-evidence/9"
    (refused,) = verify_bundle(golden, None, trust).failures
    assert "tracehub-evidence/2" in refused.detail
