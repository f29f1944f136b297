"""EIP-1559 fee planning under a ceiling (pure; the chain adapter supplies the inputs).

The network proposes a base fee and a priority fee; we offer room for the base fee
to double before the transaction stops being includable, but never more than the
configured ceiling. When even the ceiling cannot cover the current base fee plus
the tip, sending would only leave a transaction stuck in the mempool: anchoring
waits instead (``FeeAboveCeiling`` is a ``ChainUnavailable``).
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from ledger.errors import FeeAboveCeiling

GWEI = 10**9
REPLACEMENT_BUMP = 1.125  # geth and anvil accept a replacement at +10 %; keep a margin


class FeePolicy(BaseModel):
    model_config = ConfigDict(frozen=True)

    max_fee_per_gas: int = Field(default=200 * GWEI, ge=0)  # the ceiling, in wei
    max_priority_fee_per_gas: int = Field(default=2 * GWEI, ge=0)
    gas_limit_ceiling: int = Field(default=200_000, ge=21_000)
    gas_margin: float = Field(default=1.25, ge=1.0)


class Fees(BaseModel):
    model_config = ConfigDict(frozen=True)

    gas_limit: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int

    @property
    def max_cost(self) -> int:
        """The most the transaction can cost (what the balance must cover)."""
        return self.gas_limit * self.max_fee_per_gas


def plan_fees(
    policy: FeePolicy,
    base_fee: int,
    suggested_priority: int,
    estimated_gas: int,
    replacing: Fees | None = None,
) -> Fees:
    """Fees for one transaction; ``replacing``: outbid it by ``REPLACEMENT_BUMP``."""
    priority = min(suggested_priority, policy.max_priority_fee_per_gas)
    max_fee = min(2 * base_fee + priority, policy.max_fee_per_gas)
    if replacing is not None:
        priority = max(priority, math.ceil(replacing.max_priority_fee_per_gas * REPLACEMENT_BUMP))
        max_fee = max(max_fee, math.ceil(replacing.max_fee_per_gas * REPLACEMENT_BUMP))
        if max_fee > policy.max_fee_per_gas or priority > max_fee:
            raise FeeAboveCeiling(
                f"replacing the stuck transaction needs max fee {max_fee / GWEI:.3f} gwei, above "
                f"the ceiling {policy.max_fee_per_gas / GWEI:.3f} gwei; it stays pending"
            )
    if max_fee < base_fee + priority:
        raise FeeAboveCeiling(
            f"base fee {base_fee / GWEI:.3f} gwei + tip {priority / GWEI:.3f} gwei exceeds the "
            f"ceiling {policy.max_fee_per_gas / GWEI:.3f} gwei; anchoring waits for fees to fall "
            "(raise TRACEHUB_LEDGER_MAX_FEE_GWEI to pay more)"
        )
    gas_limit = math.ceil(estimated_gas * policy.gas_margin)
    if gas_limit > policy.gas_limit_ceiling:
        raise FeeAboveCeiling(
            f"the anchor needs {gas_limit} gas (estimate {estimated_gas} × margin), above the "
            f"gas limit ceiling {policy.gas_limit_ceiling}; raise the ceiling"
        )
    return Fees(gas_limit=gas_limit, max_fee_per_gas=max_fee, max_priority_fee_per_gas=priority)
