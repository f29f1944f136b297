"""The hub's InfluxDB retention: the settings held to the compliance period and the sealed
evidence in the ledger, then applied.

``retention_verdict`` finds the oldest sealed telemetry window still inside its
compliance period (``ledger.store.earliest`` + ``traceability.retention.oldest_sealed``)
and asks the pure rule; ``require_retention`` raises ``RetentionRefused`` with its
message. The hub calls it at start (``tracehub.bootstrap``), before the gateway gets the
plan it applies whenever it creates the database (``gateway.influx.InfluxWriter``);
``tracehub retention apply`` calls it before applying by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from influx.retentionplan import RetentionPlan
from traceability.errors import RetentionRefused
from traceability.retention import (
    SEALING_SPAN,
    WINDOW_KIND,
    RetentionRule,
    SealedWindow,
    oldest_sealed,
    refusal,
)
from tracehub.settings import Settings


class SealedRecords(Protocol):
    """The ledger's kept records by submission time (``LedgerStore.earliest_kept``)."""

    def earliest_kept(self, kind: str, since: datetime, span: timedelta) -> list[Any]: ...


@dataclass(frozen=True)
class RetentionVerdict:
    plan: RetentionPlan
    rule: RetentionRule
    oldest: SealedWindow | None
    refusal: str | None  # None: the plan keeps everything it must


def retention_verdict(
    settings: Settings, ledger: SealedRecords, now: datetime | None = None
) -> RetentionVerdict:
    """The plan of ``settings.retention`` judged against the ledger's sealed windows."""
    now = now or datetime.now(UTC)
    rule = settings.retention.rule()
    seals = ledger.earliest_kept(WINDOW_KIND, now - rule.compliance, SEALING_SPAN)
    oldest = oldest_sealed(seals, now, rule.compliance)
    return RetentionVerdict(settings.retention.plan(), rule, oldest, refusal(rule, oldest, now))


def require_retention(
    settings: Settings, ledger: SealedRecords, now: datetime | None = None
) -> RetentionPlan | None:
    """The plan the gateway should apply (None: retention not managed); ``RetentionRefused``
    when the settings would delete readings the compliance period needs."""
    if not settings.retention.manage:
        return None
    verdict = retention_verdict(settings, ledger, now)
    if verdict.refusal is not None:
        raise RetentionRefused(verdict.refusal)
    return verdict.plan
