"""``lifecycles`` over crafted bundles (review of issue #16): verify holds the signed
steps to the service's own rules (#12), a malformed step is a problem naming it, never
an exception (#14), and overlapping alarms count their minutes once (#6). Pure: each
record hashes to its digest, as a forger with no key can make it."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.entry import record_digest
from ledger.verify.report import Outcome
from traceability.anchoring.incidentcheck import incident_checks
from traceability.incidents.lifecycle import lifecycles
from traceability.incidents.record import STEP_FORMAT, STEP_KIND

SYSTEM = {"name": "tracehub", "role": "system"}
QA = {"name": "qa", "role": "quality"}
LI = {"name": "li", "role": "operator"}


def _step(seq: int, step: str, state: str, actor: dict[str, str], **fields: Any) -> dict[str, Any]:
    at = f"2026-12-03T11:{seq:02d}:00Z"
    base = {"format": STEP_FORMAT, "incident": "inc-x", "seq": seq, "step": step}
    return {**base, "state": state, "actor": actor, "at": at, **fields}


def _opened(lots: tuple[str, ...] = ("1/L", "1/M"), alarm: str = "a") -> dict[str, Any]:
    span = {"start": "2026-12-03T10:00:00Z", "end": "2026-12-03T10:14:00Z"}
    return _step(1, "opened", "open", SYSTEM, alarm={"id": alarm}, span=span, lots=list(lots))


def _cleared(seq: int, state: str, alarm: str = "a", at: str = "10:14") -> dict[str, Any]:
    return _step(
        seq, "cleared", state, SYSTEM, alarm={"id": alarm}, cleared_at=f"2026-12-03T{at}:00Z"
    )


def _dispose(seq: int, lot: str, disposition: str = "release") -> dict[str, Any]:
    fields = {"gtin": "1", "lot": lot, "disposition": disposition, "reason": "r"}
    return _step(seq, "disposed", "disposed", QA, **fields)


def _bundle(*records: dict[str, Any]) -> dict[str, Any]:
    items = [
        {
            "entry": {
                "kind": STEP_KIND,
                "record_id": f"incident:inc-x/{n}",
                "record_digest": record_digest(r).hex(),
            },
            "record": r,
        }
        for n, r in enumerate(records, 1)
    ]
    return {"subject": {"type": "lot", "gtin": "1", "lot": "L"}, "items": items}


def _bundle_from(first: int, *records: dict[str, Any]) -> dict[str, Any]:
    bundle = _bundle(*records)
    for n, item in enumerate(bundle["items"], first):
        item["entry"]["record_id"] = f"incident:inc-x/{n}"
    return bundle


def _problems(*records: dict[str, Any]) -> str:
    (found,) = lifecycles(_bundle(*records), "1", "L")
    return "; ".join(found.problems)


def test_the_service_path_holds() -> None:
    assert (
        _problems(
            _opened(),
            _step(2, "acknowledged", "acknowledged", LI),
            _step(3, "assessed", "assessed", QA, impacts=[]),
            _cleared(4, "assessed"),
            _dispose(5, "L"),
            _dispose(6, "M", "quarantine"),
            _step(7, "closed", "closed", LI),
        )
        == ""
    )


def test_a_disposition_without_acknowledgement_or_assessment_fails() -> None:
    problems = _problems(_opened(), _cleared(2, "open"), _dispose(3, "L"))
    assert "step 3: disposed from the state open (only from assessed or disposed)" in problems


def test_steps_by_a_role_that_may_not_take_them_and_a_close_with_nothing_disposed_fail() -> None:
    nobody = {"name": "x", "role": "nobody"}
    problems = _problems(
        _opened(),
        _cleared(2, "open"),
        _step(3, "acknowledged", "acknowledged", nobody),
        _step(4, "assessed", "assessed", QA),
        _step(5, "closed", "closed", nobody),
    )
    assert "step 3: an acknowledgement by role nobody (needs operator or quality" in problems
    assert "step 5: a closing by role nobody" in problems
    assert "step 5: closed before every lot was disposed (not: 1/L, 1/M)" in problems


def test_a_lot_disposed_twice_or_released_while_going_on_fails() -> None:
    problems = _problems(
        _opened(),
        _step(2, "acknowledged", "acknowledged", LI),
        _step(3, "assessed", "assessed", QA),
        _dispose(4, "L"),
        _dispose(5, "L", "reject"),
    )
    assert "step 4: 1/L released while the excursion went on" in problems
    assert "step 5: lot 1/L is disposed a second time" in problems


def test_a_lot_added_by_the_clearing_may_be_disposed_and_must_be_before_close() -> None:
    cleared = {**_cleared(4, "assessed"), "lots": ["1/N"]}
    problems = _problems(
        _opened(),
        _step(2, "acknowledged", "acknowledged", LI),
        _step(3, "assessed", "assessed", QA),
        cleared,
        _dispose(5, "L"),
        _dispose(6, "N"),
        _step(7, "closed", "closed", LI),
    )
    assert problems == "step 7: closed before every lot was disposed (not: 1/M)"


def test_a_lot_added_by_a_clearing_verifies_from_that_step_and_no_other_lot_does() -> None:
    cleared = {**_cleared(4, "assessed"), "lots": ["1/L", "1/M", "1/N"], "lots_added": ["1/N"]}
    later = (cleared, _dispose(5, "N"), _dispose(6, "L"), _step(7, "closed", "closed", LI))
    (found,) = lifecycles(_bundle_from(4, *later), "1", "N")
    assert found.valid, found.problems
    (lost,) = lifecycles(_bundle_from(4, *later), "1", "L")  # L's own steps must start at 1
    assert "the first step is cleared, not opened" in "; ".join(lost.problems)


@pytest.mark.parametrize(
    ("records", "named"),
    [
        ((_step(1, "opened", "open", SYSTEM, span={"start": "garbage"}),), "span.start 'garbage'"),
        (
            (
                _step(1, "opened", "open", SYSTEM, alarm={"id": "a"}, span={"start": "2026-12-03"}),
                _cleared(2, "open"),
            ),
            "step 1: span.start '2026-12-03' is not an RFC 3339 instant with an offset",
        ),
        (
            (_opened(), _step(2, "disposed", "disposed", QA, gtin="1", lot="L")),
            "step 2: a disposition without its gtin, lot or disposition",
        ),
        ((_opened(), _step(2, "cleared", "open", SYSTEM, alarm={"id": "a"})), "without cleared_at"),
        ((_step(1, "opened", "open", SYSTEM, span={"start": 5}, lots="1/L"),), "step 1:"),
        ((_opened(), _step(2, "burned", "open", LI)), "step 2: 'burned' is not a step"),
    ],
)
def test_a_malformed_step_is_a_fail_naming_it_never_a_traceback(
    records: tuple[dict[str, Any], ...], named: str
) -> None:
    (check,) = incident_checks(_bundle(*records))
    assert check.outcome is Outcome.FAIL
    assert named in check.detail


def test_overlapping_alarms_count_their_minutes_once() -> None:
    joined = _step(
        2,
        "joined",
        "open",
        SYSTEM,
        alarm={"id": "b"},
        span={"start": "2026-12-03T10:05:00Z", "end": "2026-12-03T10:10:00Z"},
    )
    later = _step(
        5,
        "joined",
        "open",
        SYSTEM,
        alarm={"id": "c"},
        span={"start": "2026-12-03T10:30:00Z", "end": "2026-12-03T10:35:00Z"},
    )
    (found,) = lifecycles(
        _bundle(
            _opened(),  # a: 10:00-10:14
            joined,  # b: 10:05-10:20, inside and past a
            _cleared(3, "open", "a", "10:14"),
            _cleared(4, "open", "b", "10:20"),
            later,  # c: 10:30-10:40, apart
            _cleared(6, "open", "c", "10:40"),
        ),
        "1",
        "L",
    )
    assert found.valid, found.problems
    assert found.minutes("1", "L") == 30  # 10:00-10:20 and 10:30-10:40, not 14 + 15 + 10
