"""What the dashboards and alert rules measure against: bands, budgets, capacities.

One frozen value feeds every dashboard threshold and alert rule, so the band a
panel draws and the band an alert fires on cannot drift apart. The defaults
are the chilled pharma band (2–8 °C) with a 30-minute excursion budget, the
gateway's default spool (1 GiB, near full at 80 %, as gateway/spool.py) and
its 10 s health heartbeat.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

# ΔH/R for MKT in kelvin: ΔH = 83.144 kJ/mol (USP <1079>), R = 8.3144 J/(mol·K).
MKT_ACTIVATION_K = 10_000.0


class Policy(BaseModel):
    """Thresholds shared by the dashboards and the alert rules."""

    model_config = ConfigDict(frozen=True)

    band_low_c: float = Field(default=2.0, description="lowest allowed product temperature")
    band_high_c: float = Field(default=8.0, description="highest allowed product temperature")
    excursion_budget_minutes: int = Field(
        default=30, gt=0, description="how long out of band before the product is at risk"
    )
    spool_capacity_bytes: int = Field(default=1 << 30, gt=0)
    spool_near_full_ratio: float = Field(default=0.8, gt=0, le=1)
    gateway_silent_minutes: int = Field(
        default=2, gt=0, description="no heartbeat or no ingest for this long"
    )
    mkt_activation_k: float = Field(default=MKT_ACTIVATION_K, gt=0, description="ΔH/R in K")

    @model_validator(mode="after")
    def _band(self) -> Policy:
        if self.band_low_c >= self.band_high_c:
            raise ValueError(
                f"band_low_c ({self.band_low_c}) must be below band_high_c ({self.band_high_c})"
            )
        return self

    @property
    def spool_near_full_bytes(self) -> int:
        return int(self.spool_capacity_bytes * self.spool_near_full_ratio)
