"""EIP-1559 fee planning under the ceiling."""

from __future__ import annotations

import pytest

from ledger.errors import ChainUnavailable, FeeAboveCeiling
from ledger.fees import GWEI, FeePolicy, plan_fees

POLICY = FeePolicy(max_fee_per_gas=100 * GWEI, max_priority_fee_per_gas=2 * GWEI)


def test_room_for_the_base_fee_to_double() -> None:
    fees = plan_fees(POLICY, 10 * GWEI, 1 * GWEI, 80_000)
    assert fees.max_fee_per_gas == 21 * GWEI
    assert fees.max_priority_fee_per_gas == 1 * GWEI
    assert fees.gas_limit == 100_000
    assert fees.max_cost == 100_000 * 21 * GWEI


def test_capped_at_the_ceiling_while_still_includable() -> None:
    fees = plan_fees(POLICY, 60 * GWEI, 5 * GWEI, 50_000)
    assert fees.max_fee_per_gas == 100 * GWEI
    assert fees.max_priority_fee_per_gas == 2 * GWEI


def test_above_the_ceiling_waits() -> None:
    with pytest.raises(FeeAboveCeiling, match="ceiling") as info:
        plan_fees(POLICY, 99 * GWEI, 2 * GWEI, 50_000)
    assert isinstance(info.value, ChainUnavailable)  # transient: anchoring only waits
    with pytest.raises(FeeAboveCeiling, match="gas limit ceiling"):
        plan_fees(POLICY, GWEI, GWEI, 190_000)


def test_replacement_outbids_by_an_eighth() -> None:
    first = plan_fees(POLICY, 10 * GWEI, 2 * GWEI, 80_000)
    bumped = plan_fees(POLICY, 10 * GWEI, 2 * GWEI, 80_000, replacing=first)
    assert bumped.max_fee_per_gas >= first.max_fee_per_gas * 1.125
    assert bumped.max_priority_fee_per_gas >= first.max_priority_fee_per_gas * 1.125
    high = plan_fees(POLICY, 45 * GWEI, 2 * GWEI, 80_000)
    with pytest.raises(FeeAboveCeiling, match="stuck"):
        plan_fees(POLICY, 45 * GWEI, 2 * GWEI, 80_000, replacing=high)
