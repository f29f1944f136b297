"""Allocation of emissions to lots and units, with the method named.

ISO 14083 allocates a transport chain element's emissions to consignments by mass
(tonne-km) by default; a shipment's total is split over its lots by their gross mass,
a lot's total over its units equally. A cold room's energy over a stay is allocated
by the lot's share of the room: pallet positions (or mass) of the lot divided by the
room's average occupied pallet positions (or stored mass) during the stay. Because
the energy is integrated over the lot's own stay, this share is the lot's share of
pallet-positions × time (or mass × time) for the room in that window.
"""

from __future__ import annotations

from enum import StrEnum


class AllocationMethod(StrEnum):
    MASS = "mass"  # ISO 14083 default for transport and hub throughput
    PALLET_POSITIONS_X_TIME = "pallet_positions_x_time"
    MASS_X_TIME = "mass_x_time"
    PER_UNIT = "per_unit"  # packaging is counted per unit, not allocated


def share(part: float, whole: float) -> float:
    """``part / whole`` for an allocation share; both positive and part <= whole."""
    if whole <= 0 or part < 0 or part > whole:
        raise ValueError(f"share {part}/{whole}: need 0 <= part <= whole and whole > 0")
    return part / whole
