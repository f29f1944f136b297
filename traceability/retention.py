"""Whether a raw-readings retention keeps what the compliance period and sealed evidence need.

EU GDP (2013/C 343/01), WHO TRS 961 Annex 9 and China's GSP want temperature records kept
for the whole retention period national law sets (GSP: at least 5 years, the default).
The gateway seals telemetry windows into the ledger and ``tracehub verify`` re-derives
every sealed leaf from the raw rows in InfluxDB: a raw reading deleted while its window
is inside its compliance period turns a proof into "missing reading". So a raw retention
is refused (``refusal``) when it is

* shorter than the compliance minimum, or
* shorter than the age of the oldest sealed window still inside its compliance period
  (its readings would go now).

InfluxDB drops a whole shard group once its *end* is older than the retention, so a point
lives at least the retention and at most one shard group longer: comparing durations is
enough. Pure over data: the seal records come from the ledger (``ledger.store.earliest``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from traceability.anchoring.seals import WINDOW_FORMAT, WINDOW_KIND

__all__ = ["WINDOW_KIND", "RetentionRule", "SealedWindow", "oldest_sealed", "refusal"]

# A window is sealed within the gateway's backfill window (default 7 days) of its start,
# plus the window and grace; the ledger is asked for the seals of this span after the
# first one it holds inside the period (``ledger.store.earliest``).
SEALING_SPAN = timedelta(days=8)


class SealedWindow(BaseModel):
    """One sealed telemetry window: whose and from when."""

    model_config = ConfigDict(frozen=True)

    device: str
    start: datetime

    def describe(self, now: datetime) -> str:
        age = (now - self.start) / timedelta(days=1)
        return f"{self.device} from {self.start:%Y-%m-%dT%H:%M:%SZ} ({age:.0f} days old)"


class RetentionRule(BaseModel):
    """The raw retention asked for and the compliance minimum, with the settings naming them."""

    model_config = ConfigDict(frozen=True)

    raw: timedelta | None  # None: forever
    compliance: timedelta
    raw_setting: str = "TRACEHUB_RETENTION_RAW_DAYS"
    compliance_setting: str = "TRACEHUB_RETENTION_COMPLIANCE_DAYS"


def oldest_sealed(
    records: Iterable[Any], now: datetime, compliance: timedelta
) -> SealedWindow | None:
    """The oldest of the seal records (``tracehub.telemetry-window/1``) whose window is
    still inside its compliance period at ``now``; anything else is skipped."""
    oldest: SealedWindow | None = None
    for record in records:
        window = _window(record)
        if window is None or now - window.start >= compliance:
            continue
        if oldest is None or window.start < oldest.start:
            oldest = window
    return oldest


def refusal(rule: RetentionRule, oldest: SealedWindow | None, now: datetime) -> str | None:
    """Why ``rule.raw`` must be refused (the message names the setting, the oldest sealed
    window and the minimum), or None when it keeps everything it must."""
    if rule.raw is None:
        return None
    inside = oldest is not None and now - oldest.start < rule.compliance
    minimum = rule.compliance
    if oldest is not None and inside:
        minimum = max(minimum, now - oldest.start)
    if rule.raw >= minimum:
        return None
    window = (
        f"the oldest sealed telemetry window still inside its period is {oldest.describe(now)}"
        + (": its readings would be deleted now" if rule.raw < now - oldest.start else "")
        if oldest is not None and inside
        else "no telemetry window is sealed yet"
    )
    return (
        f"{rule.raw_setting}={_days(rule.raw)} would let InfluxDB delete raw readings after "
        f"{_days(rule.raw)} days, before the compliance minimum of {_days(rule.compliance)} "
        f"days ({rule.compliance_setting}; China GSP: at least 5 years) ends; `tracehub "
        f"verify` re-derives every sealed window from those readings, and {window}. Set "
        f"{rule.raw_setting} to at least {_days(minimum, up=True)} (or 0: keep forever)"
    )


def _window(record: Any) -> SealedWindow | None:
    if not isinstance(record, dict) or record.get("format") != WINDOW_FORMAT:
        return None
    device, start = record.get("device"), record.get("window_start")
    if not isinstance(device, str) or not isinstance(start, str):
        return None
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return SealedWindow(device=device, start=moment.astimezone(UTC))


def _days(duration: timedelta, *, up: bool = False) -> str:
    days = duration / timedelta(days=1)
    whole = -(-duration // timedelta(days=1)) if up else days
    return f"{whole:g}"
