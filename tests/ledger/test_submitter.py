"""Records without an id: content-derived ids, idempotent, revisions are new leaves."""

from __future__ import annotations

import pytest

from ledger.errors import CanonicalizationError
from ledger.signing import Signer
from ledger.store import LedgerStore
from ledger.submitter import RecordSubmitter

from .conftest import T0

DIGEST = {"format": "tracehub.telemetry-completeness/1", "device": "probe-1", "count": 60}


def test_same_record_twice_is_one_leaf(ledger: LedgerStore, signer: Signer) -> None:
    submitter = RecordSubmitter(ledger, signer, lambda: T0)
    first = submitter.submit("telemetry_completeness", DIGEST)
    again = submitter.submit("telemetry_completeness", dict(DIGEST))
    assert again.id == first.id
    assert first.entry.record_id.startswith("sha256:")
    revised = submitter.submit("telemetry_completeness", {**DIGEST, "count": 61, "revision": 1})
    assert revised.id != first.id
    assert ledger.pending().count == 2


def test_named_ids_and_streams(ledger: LedgerStore, signer: Signer) -> None:
    submitter = RecordSubmitter(ledger, signer, lambda: T0)
    stored = submitter.submit("carbon-report", {"kg": 1.5}, "report-7", ["lot:x/L1"])
    assert stored.entry.record_id == "report-7"
    assert [e.entry.record_id for e in ledger.stream("lot:x/L1")] == ["report-7"]
    with pytest.raises(CanonicalizationError, match="not allowed in JSON"):
        submitter.submit("carbon-report", {"kg": float("nan")})
