"""Alarms about lots rather than series (pure): a stability budget running out, a unit read
at a place it must not be.

Both are EVENT-LIKE: the alarm is raised and cleared at once (``raised_at ==
cleared_at``), since nothing later "ends" them and an incident closes only once all its
alarms cleared. Each is raised once: its id is derived from what it is about
(``model.event_alarm_id``), the engine stores which thresholds a lot already crossed, and
the records store an alarm once by id, so a re-judgement or a restart adds nothing.

- ``budget_alarms``: a lot's ``BudgetUse`` against ``warn_share_left`` (a warning, the
  rule's severity) and exhaustion (critical; a lot found already exhausted gets only that
  one, not a warning as well). Id: rule|GTIN/lot|threshold.
- ``read_alarms``: reads of SGTIN-96 units of known lots (SSCC and unknown units are not
  a lot's, so are skipped) at a read point whose location kind is not allowed (an unknown
  read point has no allowed kind). Id: rule|GTIN/lot|read point|read time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from gs1.epc import Sgtin96, decode_epc
from gs1.errors import EpcError
from traceability.alarms.model import Alarm, event_alarm_id
from traceability.alarms.rules import StabilityBudgetRule, WrongPlaceRule
from traceability.alarms.tagreads import TagRead
from traceability.coldchain.budget import BudgetUse, StepUse, step_words
from traceability.records.locations import Location

WARN = "warn"
EXHAUSTED = "exhausted"
UnitKey = tuple[str, str]  # (GTIN-14, serial)


def budget_alarms(
    rule: StabilityBudgetRule,
    gtin: str,
    lot: str,
    location: str,
    place: Location | None,
    use: BudgetUse,
    crossed: frozenset[str],
    now: datetime,
) -> tuple[frozenset[str], tuple[Alarm, ...]]:
    """The thresholds the lot has crossed now (with ``crossed``, those raised before) and
    the alarms for the new ones; ``location``: the lot's current place."""
    name = place.name if place is not None else location
    if use.exhausted:
        if EXHAUSTED in crossed:
            return crossed, ()
        summary = f"Lot {lot} at {name}: stability budget exhausted, " + _spent(use)
        alarm = _budget_alarm(rule, gtin, lot, location, place, EXHAUSTED, summary, now)
        return crossed | {WARN, EXHAUSTED}, (alarm,)
    if use.share_left > rule.warn_share_left or WARN in crossed:
        return crossed, ()
    step = _tightest(use.steps)
    summary = (
        f"Lot {lot} at {name}: {_min(step.left_min)} of {_min(step.step.minutes)} min of its "
        f"stability budget left ({step_words(step.step)})"
    )
    alarm = _budget_alarm(rule, gtin, lot, location, place, WARN, summary, now)
    return crossed | {WARN}, (alarm,)


def units(reads: Iterable[TagRead]) -> dict[str, Sgtin96]:
    """The serialised units among the reads' EPCs (SSCCs and undecodable EPCs left out)."""
    found: dict[str, Sgtin96] = {}
    for read in reads:
        if read.epc in found:
            continue
        try:
            epc = decode_epc(read.epc)
        except EpcError:
            continue  # the gateway admitted it, but it names no unit: nothing to judge
        if isinstance(epc, Sgtin96):
            found[read.epc] = epc
    return found


def read_alarms(
    rule: WrongPlaceRule,
    reads: Sequence[TagRead],
    lot_of: Mapping[UnitKey, str],
    place_of: Callable[[str], Location | None],
) -> list[Alarm]:
    """One alarm per (lot, read point, read time) of reads outside the allowed kinds;
    ``lot_of``: the lots of the units (``records.lots_of_units``)."""
    decoded = units(reads)
    alarms: dict[str, Alarm] = {}
    for read in reads:
        unit = decoded.get(read.epc)
        if unit is None:
            continue
        if rule.applies_to.products and unit.gtin not in rule.applies_to.products:
            continue
        lot = lot_of.get((unit.gtin, str(unit.serial)))
        if lot is None:
            continue  # a unit no lot knows: not a lot's unit
        place = place_of(read.read_point)
        kind = place.kind if place is not None else None
        if kind in rule.allowed_kinds:
            continue
        at = read.time
        alarm_id = event_alarm_id(rule.id, f"{unit.gtin}/{lot}", read.read_point, at.isoformat())
        if alarm_id in alarms:
            continue  # another unit of the lot in the same read: one alarm
        where = (
            f"{place.name} (kind {kind})"
            if place is not None
            else f"{read.read_point} (unknown place)"
        )
        alarms[alarm_id] = Alarm(
            id=alarm_id,
            rule=rule.id,
            kind="wrong_place",
            severity=rule.severity,
            site=read.site or (place.site if place is not None else None),
            location=read.read_point,
            place_name=place.name if place is not None else None,
            device=read.reader,
            started_at=at,
            raised_at=at,
            cleared_at=at,
            summary=(
                f"Unit {unit.urn.rsplit(':', 1)[1]} of lot {lot} read at {where}, "
                "outside its allowed places"
            ),
        )
    return list(alarms.values())


def _budget_alarm(
    rule: StabilityBudgetRule,
    gtin: str,
    lot: str,
    location: str,
    place: Location | None,
    threshold: str,
    summary: str,
    now: datetime,
) -> Alarm:
    return Alarm(
        id=event_alarm_id(rule.id, f"{gtin}/{lot}", threshold),
        rule=rule.id,
        kind="stability_budget",
        severity="critical" if threshold == EXHAUSTED else rule.severity,
        site=place.site if place is not None else None,
        location=location,
        place_name=place.name if place is not None else None,
        device=None,
        started_at=now,
        raised_at=now,
        cleared_at=now,
        summary=summary,
    )


def _tightest(steps: Sequence[StepUse]) -> StepUse:
    """The step with the least share left (the one ``share_left`` reports)."""

    def share(use: StepUse) -> float:
        return use.left_min / use.step.minutes if use.step.minutes > 0 else 1.0

    return min(steps, key=share)


def _spent(use: BudgetUse) -> str:
    if use.beyond_min > 0:
        return f"{_min(use.beyond_min)} min at temperatures no step of it allows"
    over = [s for s in use.steps if s.exhausted]
    step = over[0] if over else _tightest(use.steps)
    return f"{_min(step.used_min)} of {_min(step.step.minutes)} min used {step_words(step.step)}"


def _min(minutes: float) -> str:
    return f"{round(minutes, 1):g}"
