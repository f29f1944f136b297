"""The rule file: valid files load, and every error names the file, the line and the field."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from traceability.alarms.rulefile import load_yaml, validate_section
from traceability.alarms.rules import (
    DoorOpenRule,
    RuleSet,
    Scope,
    StabilityBudgetRule,
    TemperatureRule,
    WrongPlaceRule,
)
from traceability.errors import RuleFileError

ROOT = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alarms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_loads() -> None:
    rules = RuleSet.load(ROOT / "deploy" / "alarms.example.yaml")
    kinds = {rule.kind for rule in rules.rules}
    assert kinds == {
        "temperature",
        "probe_offline",
        "door_open",
        "gateway_lost",
        "stability_budget",
        "wrong_place",
    }


def test_a_valid_file_gives_frozen_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules:\n"
        "  - id: freezer\n"
        "    kind: temperature\n"
        "    below_c: -25\n"
        "    above_c: -18\n"
        "    for_min: 10\n"
        "    severity: warning\n"
        "    applies_to: {kinds: [cold_room], sites: [s1]}\n"
        "  - {id: door, kind: door_open, for_min: 3}\n"
        "notify: {anything: here}\n",
    )
    freezer, door = RuleSet.load(path).rules
    assert freezer == TemperatureRule(
        kind="temperature", id="freezer", below_c=-25, above_c=-18, for_min=10,
        severity="warning", applies_to=Scope(kinds=("cold_room",), sites=("s1",)),
    )  # fmt: skip
    assert door == DoorOpenRule(kind="door_open", id="door", for_min=3)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "rules:\n  - id: a\n    kind: humidity\n    for_min: 5\n",
            "alarms.yaml:3: rules[0].kind: Input tag 'humidity'",
        ),
        (
            "rules:\n  - id: a\n    kind: door_open\n    for_min: 5\n"
            "  - id: b\n    kind: temperature\n    above_c: 8\n    for_min: -5\n",
            "alarms.yaml:8: rules[1].for_min: Input should be greater than 0",
        ),
        (
            "rules:\n  - id: a\n    kind: door_open\n    for_min: 5\n    colour: red\n",
            "alarms.yaml:5: rules[0].colour: Extra inputs are not permitted",
        ),
        (
            "rules:\n  - id: a\n    kind: door_open\n",
            "alarms.yaml:2: rules[0].for_min: Field required",
        ),
        (
            "rules:\n  - id: a\n    kind: temperature\n    for_min: 5\n",
            "alarms.yaml:2: rules[0]: Value error, give above_c and/or below_c, or band: product",
        ),
        (
            "rules:\n  - {id: a, kind: door_open, for_min: 5}\n"
            "  - {id: a, kind: door_open, for_min: 6}\n",
            "alarms.yaml:3: rules[1].id: rule id 'a' is used twice",
        ),
        ("rules: []\nrulez: []\n", "alarms.yaml:2: rulez: unknown section"),
        ("notify: {}\n", "alarms.yaml:1: rules: Field required"),
        ("rules:\n  - id: a\n    kind: [\n", "alarms.yaml:4: not valid YAML"),
        (
            "rules:\n  - id: a\n    kind: door_open\n    for_min: 5\n    for_min: 6\n",
            "alarms.yaml:5: rules[0].for_min: given twice",
        ),
    ],
)
def test_errors_name_the_line_and_field(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(RuleFileError) as caught:
        RuleSet.load(path)
    assert str(caught.value).startswith(f"{tmp_path}/{message}"), str(caught.value)


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules:\n  - {id: a, kind: door_open, for_min: 0}\n  - {id: b, kind: gateway_lost}\n",
    )
    with pytest.raises(RuleFileError) as caught:
        RuleSet.load(path)
    assert str(caught.value).splitlines() == [
        f"{path}:2: rules[0].for_min: Input should be greater than 0",
        f"{path}:3: rules[1].silent_min: Field required",
    ]


def test_empty_rules_and_odd_files(tmp_path: Path) -> None:
    assert RuleSet.load(write(tmp_path, "rules:\n")).rules == ()
    assert RuleSet.load(write(tmp_path, "rules: []\n")).rules == ()
    with pytest.raises(RuleFileError, match=r"alarms\.yaml:1: the file must be a mapping"):
        RuleSet.load(write(tmp_path, ""))
    with pytest.raises(RuleFileError, match=r"alarms\.yaml:1: rules: Input should be a valid"):
        RuleSet.load(write(tmp_path, "rules: nothing\n"))
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rules: [] # café\n".encode("latin-1"))
    with pytest.raises(RuleFileError, match="not UTF-8"):
        RuleSet.load(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match=r"missing\.yaml: cannot read the rule file"):
        RuleSet.load(tmp_path / "missing.yaml")


def test_validate_section_serves_other_sections(tmp_path: Path) -> None:
    path = write(tmp_path, "rules: []\nnotify:\n  retries: many\n")

    from pydantic import BaseModel

    class Notify(BaseModel):
        retries: int = 3

    loaded = load_yaml(path)
    with pytest.raises(RuleFileError, match=r"alarms.yaml:3: notify.retries: Input should be"):
        validate_section(Notify, loaded, "notify")
    assert (
        validate_section(Notify, load_yaml(write(tmp_path, "rules: []\n")), "notify").retries == 3
    )


def test_default_rules() -> None:
    band, offline, door, gateway, budget = RuleSet.default().rules
    assert isinstance(band, TemperatureRule)
    assert (band.band, band.for_min, band.applies_to.kinds) == (
        "product",
        15,
        ("cold_room", "reefer"),
    )
    assert (offline.kind, door.kind, gateway.kind) == ("probe_offline", "door_open", "gateway_lost")
    assert isinstance(budget, StabilityBudgetRule)  # and no wrong_place: it needs allowed kinds
    assert (budget.warn_share_left, budget.every_min, budget.severity) == (0.5, 5, "warning")


def test_lot_rules_load_with_their_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "rules:\n"
        "  - {id: budget, kind: stability_budget, warn_share_left: 0.25, every_min: 10}\n"
        "  - id: places\n"
        "    kind: wrong_place\n"
        "    allowed_kinds: [cold_room, reefer, dock_door]\n"
        "    applies_to: {products: ['04012345111118']}\n",
    )
    budget, places = RuleSet.load(path).rules
    assert isinstance(budget, StabilityBudgetRule)
    assert (budget.warn_share_left, budget.every_min, budget.severity) == (0.25, 10, "warning")
    assert isinstance(places, WrongPlaceRule)
    assert places.allowed_kinds == ("cold_room", "reefer", "dock_door")
    assert (places.severity, places.applies_to.products) == ("critical", ("04012345111118",))


@pytest.mark.parametrize(
    ("rule", "line", "message"),
    [
        ("{id: b, kind: stability_budget, warn_share_left: 1}", 3,
         r"rules\[1\]\.warn_share_left: Input should be less than 1"),
        ("{id: b, kind: stability_budget, warn_share_left: 0}", 3,
         r"rules\[1\]\.warn_share_left: Input should be greater than 0"),
        ("{id: b, kind: stability_budget, every_min: -5}", 3,
         r"rules\[1\]\.every_min: Input should be greater than 0"),
        ("{id: w, kind: wrong_place}", 3, r"rules\[1\]\.allowed_kinds: Field required"),
        ("{id: w, kind: wrong_place, allowed_kinds: []}", 3,
         r"rules\[1\]\.allowed_kinds: .*at least 1 item"),
    ],
)  # fmt: skip
def test_lot_rule_errors_name_the_line(tmp_path: Path, rule: str, line: int, message: str) -> None:
    path = write(tmp_path, f"rules:\n  - {{id: door, kind: door_open, for_min: 3}}\n  - {rule}\n")
    with pytest.raises(RuleFileError, match=rf"alarms.yaml:{line}: {message}"):
        RuleSet.load(path)


LAUGHS = (
    "".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}' if n else 'x'] * 10)}]\n" for n in range(8))
    + "rules: *a7\n"
)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("rules: &a [*a]\n", r"alarms\.yaml:1: anchors and aliases"),  # RecursionError before
        (LAUGHS, r"alarms\.yaml:1: anchors and aliases"),  # hung, growing memory before
        ("x: &k 1\nrules: [{id: *k}]\n", r"alarms\.yaml:1: anchors and aliases"),
        (
            "rules:\n  - !!python/name:os.system x\n",
            r"alarms\.yaml:2: tag .*python/name.* not allowed",
        ),
        ("rules: !!set {a, b}\n", r"alarms\.yaml:1: tag .*set.* not allowed"),
        ("rules: !!int abc\n", r"alarms\.yaml:1: rules: 'abc' does not read as !!int"),
        ("rules:\n  - for_min: !!float x\n", r"alarms\.yaml:2: rules\[0\]\.for_min: 'x' does not"),
        ("rules:\n  - ? [a]\n    : 1\n", r"alarms\.yaml:2: rules\[0\]: keys must be text"),
        ("rules: " + "[" * 60 + "]" * 60 + "\n", r"alarms\.yaml:1: nested more than 50"),
        ("rules: [" + "1, " * 60_000 + "]\n", r"alarms\.yaml:1: more than 50000 values"),
        ("rules: []\n" + "# padding\n" * 120_000, r"alarms\.yaml: the rule file is over"),
    ],
    ids=[
        "recursive",
        "billion-laughs",
        "anchor",
        "python-tag",
        "set-tag",
        "bad-int",
        "bad-float",
        "complex-key",
        "deep",
        "many-nodes",
        "big",
    ],
)
def test_hostile_files_fail_fast_naming_the_line(tmp_path: Path, body: str, message: str) -> None:
    # Review #15: each of these crashed or hung the hub at start instead of a RuleFileError.
    path = write(tmp_path, body)
    started = time.monotonic()
    with pytest.raises(RuleFileError, match=message):
        RuleSet.load(path)
    assert time.monotonic() - started < 15  # fast, not hung: a loaded CI machine took 7 s


def test_the_scenario_file_is_read_the_same_way(tmp_path: Path) -> None:
    path = write(tmp_path, "scenario: &s {title: x}\nother: *s\n")
    with pytest.raises(RuleFileError, match=r"alarms\.yaml:1: anchors and aliases"):
        load_yaml(path)
