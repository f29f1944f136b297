"""The lot alarms, pure: a stability budget crossing its warn share or spent, and RFID
reads of a lot's units at a place whose kind is not allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gs1.epc import encode_epc
from traceability.alarms.lotalarms import EXHAUSTED, WARN, budget_alarms, read_alarms
from traceability.alarms.rules import Scope, StabilityBudgetRule, WrongPlaceRule
from traceability.alarms.tagreads import TagRead
from traceability.coldchain.budget import BudgetStep, BudgetUse, StabilityBudget, consume
from traceability.coldchain.probes import OutSpan
from traceability.records.locations import Location

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
GTIN = "04012345111118"
OTHER = "04012345222227"
ROOM = Location(urn="urn:epc:id:sgln:4012345.00002.0", name="Cold room 1", kind="cold_room")
AMBIENT = Location(
    urn="urn:epc:id:sgln:4012345.00009.0", name="Ambient store", kind="ambient", site="s1"
)
PLACES = {p.urn: p for p in (ROOM, AMBIENT)}
BUDGET = StabilityBudget(
    steps=(
        BudgetStep(side="above", limit_c=25, minutes=60),
        BudgetStep(side="above", limit_c=30, minutes=10),
    )
)
RULE = StabilityBudgetRule(kind="stability_budget", id="budget")
WRONG = WrongPlaceRule(
    kind="wrong_place", id="places", allowed_kinds=("cold_room", "reefer", "dock_door")
)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def used(minutes: float, celsius: float = 20.0) -> BudgetUse:
    span = OutSpan(
        location=ROOM.urn, device="p1", start=at(0), end=at(minutes), celsius=celsius, side="above"
    )
    return consume(BUDGET, [span])


def judge(use: BudgetUse, crossed: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    return budget_alarms(RULE, GTIN, "L2026-11A", ROOM.urn, ROOM, use, crossed, at(90))


def test_budget_above_the_warn_share_raises_nothing() -> None:
    assert judge(used(29)) == (frozenset(), ())  # 31 of 60 left: 0.52 > 0.5


def test_budget_at_the_warn_share_warns_once_as_an_event() -> None:
    crossed, (alarm,) = judge(used(40))
    assert crossed == {WARN}
    assert (alarm.kind, alarm.severity, alarm.rule) == ("stability_budget", "warning", "budget")
    assert alarm.summary == (
        "Lot L2026-11A at Cold room 1: 20 of 60 min of its stability budget left (at ≤ 25 °C)"
    )
    assert (alarm.location, alarm.device, alarm.place_name) == (ROOM.urn, None, "Cold room 1")
    assert alarm.raised_at == alarm.cleared_at == alarm.started_at == at(90)
    assert judge(used(45), crossed) == (crossed, ())  # already warned: nothing new
    # the same lot and threshold judged again (a restart without state): the same alarm
    assert judge(used(45))[1][0].id == alarm.id


def test_spent_budget_is_critical_once_and_skips_the_warning() -> None:
    crossed, (alarm,) = judge(used(12, celsius=28))  # the 30 °C step: 12 of 10 min
    assert crossed == {WARN, EXHAUSTED}
    assert alarm.severity == "critical"
    assert alarm.summary == (
        "Lot L2026-11A at Cold room 1: stability budget exhausted, 12 of 10 min used at ≤ 30 °C"
    )
    warned, (warning,) = judge(used(40))
    assert warning.id != alarm.id  # another threshold: another alarm
    assert judge(used(70), warned)[1][0].id == alarm.id
    assert judge(used(70), crossed) == (crossed, ())


def test_minutes_beyond_every_step_exhaust_the_budget() -> None:
    _, (alarm,) = judge(used(3, celsius=35))
    assert alarm.severity == "critical"
    assert alarm.summary.endswith("exhausted, 3 min at temperatures no step of it allows")


def read(serial: int, where: Location, minute: float, gtin_ref: str = "011111") -> TagRead:
    epc = encode_epc(f"urn:epc:id:sgtin:4012345.{gtin_ref}.{serial}")
    return TagRead(time=at(minute), read_point=where.urn, reader="r1", site="s1", epc=epc)


LOTS = {(GTIN, "1001"): "L2026-11A", (GTIN, "1002"): "L2026-11A", (OTHER, "7"): "B9"}


def test_a_read_at_an_ambient_place_raises_one_critical_event() -> None:
    (alarm,) = read_alarms(WRONG, [read(1001, ROOM, 1), read(1001, AMBIENT, 2)], LOTS, PLACES.get)
    assert (alarm.kind, alarm.severity, alarm.device, alarm.site) == (
        "wrong_place",
        "critical",
        "r1",
        "s1",
    )
    assert alarm.summary == (
        "Unit 4012345.011111.1001 of lot L2026-11A read at Ambient store (kind ambient), "
        "outside its allowed places"
    )
    assert (alarm.location, alarm.place_name) == (AMBIENT.urn, "Ambient store")
    assert alarm.started_at == alarm.raised_at == alarm.cleared_at == at(2)


def test_one_alarm_per_lot_read_point_and_read_time() -> None:
    reads = [
        read(1001, AMBIENT, 2),
        read(1002, AMBIENT, 2),  # the same lot, the same read: one alarm
        read(1001, AMBIENT, 3),  # a later read: another
        read(7, AMBIENT, 2, gtin_ref="022222"),  # another lot
    ]
    alarms = read_alarms(WRONG, reads, LOTS, PLACES.get)
    assert [(a.started_at, a.summary.split(" ")[4]) for a in alarms] == [
        (at(2), "L2026-11A"),
        (at(3), "L2026-11A"),
        (at(2), "B9"),
    ]
    assert len({a.id for a in alarms}) == 3
    assert read_alarms(WRONG, reads[:1], LOTS, PLACES.get)[0].id == alarms[0].id


def test_unknown_units_ssccs_other_products_are_not_judged_and_unknown_places_are() -> None:
    sscc = TagRead(
        time=at(1), read_point=AMBIENT.urn, epc=encode_epc("urn:epc:id:sscc:4012345.0000000001")
    )
    garbage = TagRead(time=at(1), read_point=AMBIENT.urn, epc="E2801160600002084A2D1F55")
    unknown = read(1999, AMBIENT, 1)  # no lot has it
    assert read_alarms(WRONG, [sscc, garbage, unknown], LOTS, PLACES.get) == []
    salmon_only = WRONG.model_copy(update={"applies_to": Scope(products=(GTIN,))})
    other = read(7, AMBIENT, 2, gtin_ref="022222")
    assert read_alarms(salmon_only, [other], LOTS, PLACES.get) == []
    nowhere = TagRead(time=at(4), read_point="urn:epc:id:sgln:4012345.00077.0", epc=other.epc)
    (alarm,) = read_alarms(WRONG, [nowhere], LOTS, PLACES.get)
    assert "read at urn:epc:id:sgln:4012345.00077.0 (unknown place)" in alarm.summary
    assert alarm.place_name is None
