"""Submitting leaves: a signer outside its key's validity period is refused up front."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.errors import KeyOutOfPeriod
from ledger.signing import Signer
from ledger.store import LedgerStore

from .conftest import T0


def _nothing_stored(ledger: LedgerStore, stream: str) -> None:
    assert ledger.pending().count == 0
    assert ledger.stream(stream) == []


def test_a_key_closed_before_the_signing_time_is_refused(ledger: LedgerStore) -> None:
    base = Signer.generate("site:a", T0 - timedelta(days=30))
    closed = Signer.from_private_key(
        base._private_key, "site:a", T0 - timedelta(days=30), valid_until=T0
    )
    with pytest.raises(KeyOutOfPeriod, match=f"{closed.key_id} of site:a was rotated out"):
        ledger.submit("test-record", "r1", {"x": 1}, ["lot:A"], closed, T0 + timedelta(hours=1))
    _nothing_stored(ledger, "lot:A")


def test_a_key_not_yet_valid_is_refused(ledger: LedgerStore) -> None:
    future = Signer.generate("site:a", T0 + timedelta(days=1))
    with pytest.raises(KeyOutOfPeriod, match="is not valid yet"):
        ledger.submit("test-record", "r1", {"x": 1}, ["lot:A"], future, T0)
    _nothing_stored(ledger, "lot:A")


def test_a_rotation_recorded_in_the_store_is_honoured(ledger: LedgerStore, signer: Signer) -> None:
    """Another process rotated the key (close_key): this process's signer still says
    "open", but the store's record of the key wins."""
    first = ledger.submit("test-record", "r1", {"x": 1}, ["lot:A"], signer, T0)
    ledger.close_key(signer.key_id, T0 + timedelta(minutes=1))
    with pytest.raises(KeyOutOfPeriod) as info:
        ledger.submit("test-record", "r2", {"x": 2}, ["lot:A"], signer, T0 + timedelta(hours=1))
    assert signer.key_id in str(info.value)
    assert "to 2026-06-01T10:01:00.000000Z" in str(info.value)
    assert [e.id for e in ledger.stream("lot:A")] == [first.id]
    # Re-offering what was stored before the rotation is still idempotent.
    again = ledger.submit("test-record", "r1", {"x": 1}, ["lot:A"], signer, T0 + timedelta(hours=1))
    assert again.id == first.id
    # Signing inside the period (a late submission of an earlier reading) still works.
    inside = ledger.submit("test-record", "r3", {"x": 3}, ["lot:A"], signer, T0)
    assert inside.entry.links[0].seq == 1
