"""earliest_kept: the kept records of one kind submitted first from a moment on, within a
span: what the retention check reads instead of every sealed window the ledger holds."""

from __future__ import annotations

from datetime import timedelta

from ledger.signing import Signer
from ledger.store.sqlstore import LedgerStore
from tests.ledger.conftest import T0

DAY = timedelta(days=1)


def _submit(ledger: LedgerStore, signer: Signer, n: int, days: float, kind: str = "w") -> None:
    ledger.submit(
        kind, f"r{n}", {"n": n}, [f"device:{n}"], signer, T0 + days * DAY, keep_record=True
    )


def test_the_first_records_from_a_moment_on_within_the_span(
    ledger: LedgerStore, signer: Signer
) -> None:
    for n, days in enumerate([0, 3, 5, 12, 20]):
        _submit(ledger, signer, n, days)
    _submit(ledger, signer, 9, 4, kind="other")
    assert ledger.earliest_kept("w", T0 - DAY, 8 * DAY) == [{"n": 0}, {"n": 1}, {"n": 2}]
    # from day 1 on, the first is day 3's: the span runs from it
    assert ledger.earliest_kept("w", T0 + DAY, 8 * DAY) == [{"n": 1}, {"n": 2}]
    assert ledger.earliest_kept("w", T0 + 4 * DAY, 8 * DAY) == [{"n": 2}, {"n": 3}]
    assert ledger.earliest_kept("w", T0 + 30 * DAY, 8 * DAY) == []
    assert ledger.earliest_kept("nothing", T0 - DAY, 8 * DAY) == []


def test_records_not_kept_are_not_returned(ledger: LedgerStore, signer: Signer) -> None:
    ledger.submit("w", "bare", {"n": 1}, ["device:x"], signer, T0)  # keep_record False
    assert ledger.earliest_kept("w", T0 - DAY, DAY) == []
