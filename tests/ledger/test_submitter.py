"""Records without an id: content-derived ids, idempotent, revisions are new leaves."""

from __future__ import annotations

import pytest

from ledger.errors import CanonicalizationError
from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from ledger.submitter import RecordSubmitter
from tests.ledger.conftest import T0

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


def test_a_rotated_key_is_renewed_once(ledger: LedgerStore, signer: Signer) -> None:
    from datetime import timedelta

    from ledger.errors import KeyOutOfPeriod

    later = T0 + timedelta(hours=1)
    RecordSubmitter(ledger, signer, lambda: T0).submit("carbon-report", {"kg": 0.5})
    ledger.close_key(signer.key_id, T0 + timedelta(minutes=1))  # `rotate-key`, elsewhere
    fixed = RecordSubmitter(ledger, signer, lambda: later)
    with pytest.raises(KeyOutOfPeriod):
        fixed.submit("carbon-report", {"kg": 1.0})
    successor = Signer.generate(signer.public.owner, T0)
    loads: list[Signer] = []

    def renew() -> Signer:
        loads.append(successor)
        return successor

    renewing = RecordSubmitter(ledger, signer, lambda: later, renew=renew)
    stored = renewing.submit("carbon-report", {"kg": 1.0})
    assert stored.entry.signature.key_id == successor.key_id
    renewing.submit("carbon-report", {"kg": 2.0})
    assert len(loads) == 1  # kept, not reloaded per record
    assert renewing.signer is successor


def test_many_records_go_in_one_call_with_the_key_renewed_once(
    ledger: LedgerStore, signer: Signer
) -> None:
    from datetime import timedelta

    from ledger.batch import Submission

    later = T0 + timedelta(hours=1)
    RecordSubmitter(ledger, signer, lambda: T0).submit("carbon-report", {"kg": 0.5})
    ledger.close_key(signer.key_id, T0 + timedelta(minutes=1))  # `rotate-key`, elsewhere
    successor = Signer.generate(signer.public.owner, T0)
    loads: list[Signer] = []

    def renew() -> Signer:
        loads.append(successor)
        return successor

    steps = [
        Submission(
            kind="incident-step",
            record_id=f"incident:i/{n}",
            record={"seq": n},
            streams=("incident:i",),
            keep_record=True,
        )
        for n in (1, 2)
    ]
    stored = RecordSubmitter(ledger, signer, lambda: later, renew=renew).submit_many(steps)
    assert [s.entry.record_id for s in stored] == ["incident:i/1", "incident:i/2"]
    assert {s.entry.signature.key_id for s in stored} == {successor.key_id}
    assert len(loads) == 1
