"""``TRACEHUB_RETENTION_*``: how long InfluxDB keeps readings (docs/retention.md).

Its own module because ``tracehub.settings`` is at its size limit; it is imported there
and built by ``load_settings`` like every other part.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from influx.retentionplan import Downsample, Policy, RetentionPlan
from traceability.retention import RetentionRule

FIVE_YEARS_DAYS = 1827  # 5 × 365.25, rounded up: five years whichever leap days they hold


class RetentionSettings(BaseSettings):
    """``TRACEHUB_RETENTION_*``: the raw and downsampled retention of InfluxDB, and the
    compliance minimum a raw retention is held to (EU GDP, WHO TRS 961 Annex 9, China GSP)."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_RETENTION_", frozen=True)

    manage: bool = Field(
        default=True,
        description="apply the policies and continuous queries below at start; false: leave "
        "InfluxDB's retention alone (InfluxDB 2.x/3.x buckets, or managed by hand)",
    )
    raw_days: int = Field(
        default=FIVE_YEARS_DAYS,
        ge=0,
        description="keep raw readings (every measurement the gateway writes) this many days; "
        "0: forever. Refused below compliance_days or the age of the oldest sealed window",
    )
    compliance_days: int = Field(
        default=FIVE_YEARS_DAYS,
        ge=1,
        description="the period temperature records must be kept (China GSP: at least 5 "
        "years; EU GDP and WHO: as national law sets)",
    )
    raw_policy: str = Field(
        default="autogen",
        min_length=1,
        description="the raw readings' policy, made the database's DEFAULT (readers query "
        "it); autogen is the one InfluxDB creates, so points already written stay readable",
    )
    rollup_policy: str = Field(default="rollup", min_length=1)
    rollup_days: int = Field(
        default=3653, ge=0, description="keep the downsampled series this many days; 0: forever"
    )
    rollup_every_min: int = Field(
        default=15,
        ge=1,
        le=1440,
        description="the downsampled series' interval: mean/min/max/count of celsius per "
        "device and location into temperature_<N>m",
    )

    def plan(self) -> RetentionPlan:
        """The policies and continuous queries these settings ask of InfluxDB."""
        every = timedelta(minutes=self.rollup_every_min)
        return RetentionPlan(
            raw=Policy(name=self.raw_policy, duration=_days(self.raw_days)),
            rollup=Policy(name=self.rollup_policy, duration=_days(self.rollup_days)),
            downsamples=(Downsample(every=every, resample_for=max(every, timedelta(hours=1))),),
        )

    def rule(self) -> RetentionRule:
        """What the raw retention is held to (``traceability.retention.refusal``)."""
        return RetentionRule(
            raw=_days(self.raw_days), compliance=timedelta(days=self.compliance_days)
        )


def _days(days: int) -> timedelta | None:
    return None if days == 0 else timedelta(days=days)
