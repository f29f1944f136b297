"""The engine's lot rules (``stability_budget``, ``wrong_place``): what each round asks of
the lots, and the state kept between rounds.

- ``stability_budget``: every ``every_min`` (each judgement computes an exposure from
  InfluxDB), the lots present now at every place the rule's scope matches
  (``LotPlaces.lots_at``) are judged through ``judge(gtin, lot) -> BudgetUse | None``
  (the hub wires ``ExposureService``; None: the product has no budget). A judgement costs
  about 60 ms (a day of two probes' readings), so the lots found are queued and judged
  oldest first until ``max_judge_s`` is spent in a round: a thousand lots delay the other
  rules' rounds by about a second each, not by a minute once. A lot with both
  thresholds raised is not judged again. Kept per lot (row ``rule``, ``GTIN/lot``): the
  thresholds already raised.
- ``wrong_place``: the tag reads since the watermark minus ``overlap_s`` (spooled reads
  arrive late), never more than ``lookback_s`` back, nor before the previous round's
  time minus ``overlap_s`` (a quiet store is not re-read an hour back every round), and
  not at read points of allowed kinds (most reads; never judged); the units' lots from the records
  (``lots_of_units``). Kept (row ``rule``, ``rfid_read``): the watermark and the alarm ids
  inside the overlap, so a read seen twice raises once.

``run`` returns the rows to store and the (event-like) alarms; the engine commits them in
one transaction and reports them as any other alarm.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict

from traceability.alarms.lotalarms import budget_alarms, read_alarms, units
from traceability.alarms.model import Alarm
from traceability.alarms.rules import LotRule, RuleSet, StabilityBudgetRule, WrongPlaceRule
from traceability.alarms.tagreads import TagReadSource
from traceability.coldchain.budget import BudgetUse
from traceability.errors import RecordNotFound
from traceability.records.alarmstate import AlarmSeriesRow
from traceability.records.locations import Location

log = logging.getLogger(__name__)

BudgetJudge = Callable[[str, str], BudgetUse | None]
READS = "rfid_read"  # the wrong-place rule's one state row


class LotPlaces(Protocol):
    def place(self, urn: str) -> Location | None: ...

    def located(self) -> Sequence[Location]:
        """Every known place."""
        ...

    def lots_at(self, urn: str, start: datetime, end: datetime) -> Sequence[tuple[str, str]]:
        """(GTIN, lot) of the lots at ``urn`` at any time in ``[start, end]``."""
        ...


class UnitLots(Protocol):
    def lots_of_units(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]: ...


class _Crossed(BaseModel):
    model_config = ConfigDict(frozen=True)

    crossed: frozenset[str] = frozenset()


class _Reads(BaseModel):
    model_config = ConfigDict(frozen=True)

    watermark: AwareDatetime | None = None
    seen: frozenset[str] = frozenset()  # alarm ids raised from reads inside the overlap


def lot_rules(rules: RuleSet) -> tuple[LotRule, ...]:
    return tuple(r for r in rules.rules if isinstance(r, StabilityBudgetRule | WrongPlaceRule))


class LotWatch:
    """Runs the lot rules of ``rules``; a rule whose port is not given is skipped (logged)."""

    def __init__(
        self,
        rules: RuleSet,
        places: LotPlaces,
        records: UnitLots,
        judge: BudgetJudge | None = None,
        tags: TagReadSource | None = None,
        *,
        lookback_s: float = 3600.0,
        overlap_s: float = 120.0,
        max_judge_s: float = 1.0,
    ) -> None:
        """``max_judge_s``: judging stops for the round once this long was spent (at least
        one lot is judged), so many lots delay the other rules' rounds by little."""
        self.rules = lot_rules(rules)
        self._places = places
        self._records = records
        self._judge = judge
        self._tags = tags
        self._lookback = timedelta(seconds=lookback_s)
        self._overlap = timedelta(seconds=overlap_s)
        self._max_judge = max_judge_s
        self._due: dict[str, datetime] = {}  # next scan of the lots per rule (at start: now)
        # Lots scanned and not yet judged, per rule: judged a few per round, oldest first.
        self._queue: dict[str, list[tuple[str, str, Location]]] = {}
        self._floor: dict[str, datetime] = {}  # earliest read time a wrong_place round reads
        for rule in self.rules:
            if (judge if isinstance(rule, StabilityBudgetRule) else tags) is None:
                log.warning("alarm rule %s (%s) is not evaluated: no source", rule.id, rule.kind)

    def run(
        self, stored: Mapping[tuple[str, str], str], now: datetime
    ) -> tuple[list[AlarmSeriesRow], list[Alarm]]:
        """``stored``: state JSON by (rule id, location) of the lot rules' rows."""
        rows: list[AlarmSeriesRow] = []
        alarms: list[Alarm] = []
        for rule in self.rules:
            if isinstance(rule, StabilityBudgetRule):
                if self._judge is None:
                    continue
                if not self._queue.get(rule.id) and now >= self._due.get(rule.id, now):
                    self._queue[rule.id] = self._present(rule, stored, now)
                    self._due[rule.id] = now + timedelta(minutes=rule.every_min)
                found = self._budgets(rule, self._judge, stored, now)
            elif self._tags is not None:
                found = self._reads(rule, self._tags, stored.get((rule.id, READS)), now)
            else:
                continue
            rows.extend(found[0])
            alarms.extend(found[1])
        return rows, alarms

    def _present(
        self, rule: StabilityBudgetRule, stored: Mapping[tuple[str, str], str], now: datetime
    ) -> list[tuple[str, str, Location]]:
        """The lots at the places in scope now, except those with both thresholds raised
        (nothing left to judge, so no exposure is computed for them)."""
        scope = rule.applies_to
        present: dict[tuple[str, str], Location] = {}
        for place in sorted(self._places.located(), key=lambda p: p.urn):
            if not scope.matches_place(place.urn, place.kind, place.site):
                continue
            for gtin, lot in self._places.lots_at(place.urn, now, now):
                if not scope.products or gtin in scope.products:
                    present.setdefault((gtin, lot), place)
        return [
            (gtin, lot, place)
            for (gtin, lot), place in present.items()
            if len(_crossed(stored.get((rule.id, f"{gtin}/{lot}")))) < 2
        ]

    def _budgets(
        self,
        rule: StabilityBudgetRule,
        judge: BudgetJudge,
        stored: Mapping[tuple[str, str], str],
        now: datetime,
    ) -> tuple[list[AlarmSeriesRow], list[Alarm]]:
        """Judge the queued lots, oldest first, until ``max_judge_s`` is spent."""
        rows: list[AlarmSeriesRow] = []
        alarms: list[Alarm] = []
        queue = self._queue.get(rule.id, [])
        started = time.monotonic()
        while queue:
            gtin, lot, place = queue[0]
            key = f"{gtin}/{lot}"
            try:
                use = judge(gtin, lot)
            except RecordNotFound as exc:
                log.warning("lot %s not judged for rule %s: %s", key, rule.id, exc)
                use = None
            queue.pop(0)  # judged; an outage (raised above) leaves the lot queued
            if use is not None:  # None: the product has no budget
                crossed = _crossed(stored.get((rule.id, key)))
                after, raised = budget_alarms(rule, gtin, lot, place.urn, place, use, crossed, now)
                if after != crossed:
                    rows.append(_row(rule.id, key, _Crossed(crossed=after).model_dump_json(), None))
                    alarms.extend(raised)
            if time.monotonic() - started >= self._max_judge:
                break
        return rows, alarms

    def _reads(
        self, rule: WrongPlaceRule, tags: TagReadSource, before: str | None, now: datetime
    ) -> tuple[list[AlarmSeriesRow], list[Alarm]]:
        state = _Reads.model_validate_json(before) if before else _Reads()
        since = now - self._lookback
        if state.watermark is not None:
            since = max(since, state.watermark - self._overlap)
        since = max(since, self._floor.get(rule.id, since))
        allowed = [p.urn for p in self._places.located() if p.kind in rule.allowed_kinds]
        reads = tags.tag_reads(since, allowed)
        self._floor[rule.id] = max(since, now - self._overlap)
        if not reads:
            return [], []
        keys = [(u.gtin, str(u.serial)) for u in units(reads).values()]
        lot_of = self._records.lots_of_units(keys) if keys else {}
        found = read_alarms(rule, reads, lot_of, self._places.place)
        new = [a for a in found if a.id not in state.seen]
        watermark = max([r.time for r in reads] + ([state.watermark] if state.watermark else []))
        # The next read starts at watermark - overlap: only the ids of reads after that
        # can come again (every earlier seen id is older than this read's start).
        keep = watermark - self._overlap
        seen = frozenset(a.id for a in found if a.started_at > keep)
        after = _Reads(watermark=watermark, seen=seen)
        if after == state:
            return [], []
        return [_row(rule.id, READS, after.model_dump_json(), watermark)], new


def _crossed(state: str | None) -> frozenset[str]:
    return _Crossed.model_validate_json(state).crossed if state else frozenset()


def _row(rule: str, location: str, state: str, watermark: datetime | None) -> AlarmSeriesRow:
    return AlarmSeriesRow(
        rule=rule, location=location, device=None, state=state, watermark=watermark
    )
