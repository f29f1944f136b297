"""How long InfluxDB keeps what, as one frozen value, and the InfluxQL that says so.

Pure: a ``RetentionPlan`` names the raw policy (the database's DEFAULT, so every reader
that queries a measurement without a policy prefix reads it), the longer rollup policy
and the continuous queries that downsample into it. It renders the statements InfluxDB
1.x takes (``CREATE/ALTER RETENTION POLICY``, ``CREATE CONTINUOUS QUERY``) and reads its
answers back (``SHOW RETENTION POLICIES``' Go durations, ``SHOW CONTINUOUS QUERIES``'
re-quoted text), so ``influx.retention`` can tell whether anything has to change.

InfluxDB 1.x keeps data per retention policy, not per measurement: every measurement
written without ``rp`` lands in the DEFAULT policy. So the raw policy covers every raw
measurement the gateway writes, and each rollup measurement its own policy.
"""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from influx.quoting import identifier

# InfluxDB refuses a retention policy shorter than this (influxd 1.x: "must be at least 1h").
MIN_DURATION = timedelta(hours=1)
# Our continuous queries carry this prefix, so a plan can drop the ones it no longer wants
# (a changed interval renames the query) without touching anybody else's.
CQ_PREFIX = "tracehub_"
_GO_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)")
_GO_UNITS = {
    "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9,
}  # fmt: skip


class Policy(BaseModel):
    """One retention policy: its name and how long it keeps points (None: forever)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    duration: timedelta | None = None

    @field_validator("duration")
    @classmethod
    def _whole_hours(cls, value: timedelta | None) -> timedelta | None:
        if value is None:
            return None
        if value < MIN_DURATION:
            raise ValueError(f"{value} is shorter than InfluxDB's minimum policy of 1 hour")
        if value % timedelta(hours=1):
            raise ValueError(f"{value}: give a whole number of hours (InfluxQL durations)")
        return value

    def influxql_duration(self) -> str:
        if self.duration is None:
            return "INF"
        return f"{self.duration // timedelta(hours=1)}h"

    def describe(self) -> str:
        return "forever" if self.duration is None else _days(self.duration)


class Downsample(BaseModel):
    """A continuous query: mean/min/max/count of one field per ``every`` into a rollup
    measurement, grouped by every tag (device, location, site stay tags)."""

    model_config = ConfigDict(frozen=True)

    measurement: str = "temperature"
    field: str = "celsius"
    every: timedelta = timedelta(minutes=15)
    # Recompute the last hour at each run: readings that reach InfluxDB late (a spool
    # drained after an outage) still land in their bucket.
    resample_for: timedelta = timedelta(hours=1)

    @model_validator(mode="after")
    def _whole_minutes(self) -> Downsample:
        if self.every < timedelta(minutes=1) or self.every % timedelta(minutes=1):
            raise ValueError(f"every {self.every}: give a whole number of minutes, at least 1")
        if self.resample_for < self.every:
            raise ValueError(f"resample_for {self.resample_for} is shorter than every")
        return self

    @property
    def minutes(self) -> int:
        return self.every // timedelta(minutes=1)

    @property
    def into(self) -> str:
        """The rollup measurement, e.g. ``temperature_15m``."""
        return f"{self.measurement}_{self.minutes}m"

    @property
    def name(self) -> str:
        return f"{CQ_PREFIX}{self.into}"


class RetentionPlan(BaseModel):
    """The policies and continuous queries one database should have."""

    model_config = ConfigDict(frozen=True)

    raw: Policy = Policy(name="autogen", duration=timedelta(days=1827))
    rollup: Policy = Policy(name="rollup", duration=timedelta(days=3653))
    downsamples: tuple[Downsample, ...] = (Downsample(),)

    @model_validator(mode="after")
    def _two_policies(self) -> RetentionPlan:
        if self.raw.name == self.rollup.name:
            raise ValueError(f"raw and rollup policies are both {self.raw.name!r}: name two")
        return self

    def create_policy(self, database: str, policy: Policy, *, default: bool) -> str:
        return _policy_statement("CREATE", database, policy, default)

    def alter_policy(self, database: str, policy: Policy, *, default: bool) -> str:
        return _policy_statement("ALTER", database, policy, default)

    def continuous_query(self, database: str, cq: Downsample) -> str:
        return (
            f"CREATE CONTINUOUS QUERY {identifier(cq.name)} ON {identifier(database)} "
            f"RESAMPLE FOR {influxql_duration(cq.resample_for)} "
            f"BEGIN {self.rollup_select(database, cq)} END"
        )

    def rollup_select(self, database: str, cq: Downsample, where: str | None = None) -> str:
        """The continuous query's ``SELECT ... INTO``; with ``where`` (a time range) it
        backfills the rollup of readings written before the query existed."""
        db, f = identifier(database), identifier(cq.field)
        aggregates = ", ".join(
            f"{fn}({f}) AS {identifier(fn)}" for fn in ("mean", "min", "max", "count")
        )
        return (
            f"SELECT {aggregates} "
            f"INTO {db}.{identifier(self.rollup.name)}.{identifier(cq.into)} "
            f"FROM {db}.{identifier(self.raw.name)}.{identifier(cq.measurement)} "
            + ("" if where is None else f"WHERE {where} ")
            + f"GROUP BY time({influxql_duration(cq.every)}), *"
        )


def _policy_statement(verb: str, database: str, policy: Policy, default: bool) -> str:
    statement = (
        f"{verb} RETENTION POLICY {identifier(policy.name)} ON {identifier(database)} "
        f"DURATION {policy.influxql_duration()} REPLICATION 1"
    )
    return statement + (" DEFAULT" if default else "")


def influxql_duration(duration: timedelta) -> str:
    """``duration`` in its largest whole InfluxQL unit (60m is ``1h``, 7d ``1w``), as
    ``SHOW CONTINUOUS QUERIES`` prints it back."""
    for unit, size in (("w", 7 * 86_400), ("d", 86_400), ("h", 3_600), ("m", 60)):
        if duration % timedelta(seconds=size) == timedelta(0):
            return f"{duration // timedelta(seconds=size)}{unit}"
    return f"{int(duration.total_seconds())}s"


def go_duration(text: str) -> timedelta | None:
    """``SHOW RETENTION POLICIES``' duration (Go's ``43824h0m0s``; ``0s``: forever)."""
    parts = _GO_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a Go duration")
    seconds = sum(float(n) * _GO_UNITS[u] for n, u in parts)
    return None if seconds == 0 else timedelta(seconds=seconds)


def same_query(shown: str, wanted: str) -> bool:
    """True when ``SHOW CONTINUOUS QUERIES``' text is ``wanted``: influxd drops the quotes
    it does not need and may space differently, so both are compared without them."""
    return _bare(shown) == _bare(wanted)


def _bare(query: str) -> str:
    return " ".join(query.replace('"', "").split())


def _days(duration: timedelta) -> str:
    days = duration / timedelta(days=1)
    text = f"{days:g} days" if days != 1 else "1 day"
    return f"{text} ({days / 365.25:.1f} years)" if days >= 365 else text
