"""Mean Kinetic Temperature (USP <1079>), pure.

``T_k = (ΔH/R) / -ln( Σ wᵢ·exp(-ΔH/(R·Tᵢ)) / Σ wᵢ )`` in kelvin, over readings ``Tᵢ``
with weights ``wᵢ`` (the time each reading held, ``coldchain.probes``: USP <1079>'s
equal-time samples, generalised to unequal intervals). ΔH defaults
to 83.144 kJ/mol, the value USP <1079> and most stability budgets use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

DEFAULT_DELTA_H_KJ = 83.144
GAS_CONSTANT = 8.3144598e-3  # kJ/(mol·K)
KELVIN = 273.15


def mean_kinetic_temperature(
    samples: Sequence[tuple[float, float]], delta_h_kj: float = DEFAULT_DELTA_H_KJ
) -> float:
    """MKT in °C of ``(celsius, weight)`` samples; raises ValueError when empty."""
    total = sum(w for _, w in samples)
    if not samples or total <= 0:
        raise ValueError("MKT needs at least one reading with a positive weight")
    ratio = delta_h_kj / GAS_CONSTANT
    # Factor out the hottest term so exp() neither underflows nor loses precision.
    ref = max(-ratio / (c + KELVIN) for c, _ in samples)
    acc = sum(w * math.exp(-ratio / (c + KELVIN) - ref) for c, w in samples)
    return ratio / -(math.log(acc / total) + ref) - KELVIN
