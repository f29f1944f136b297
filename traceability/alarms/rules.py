"""Alarm rules: what is watched, where, and for how long before it alarms.

Frozen pydantic models, one per ``kind`` (a discriminated union), each with an ``id``
(unique in the set: it keys the engine's state and the alarm ids), a ``severity`` and a
scope ``applies_to`` (location kinds, location URNs, sites, product GTINs; every list
that is given must match, an empty scope matches everywhere):

- ``temperature``: ``above_c`` and/or ``below_c``, or ``band: product`` (the band of the
  products whose lots are at the place, strictest of them); alarms after ``for_min``.
- ``probe_offline``: a probe with no reading for ``silent_min``, or for ``intervals`` times
  its own observed median interval (``silent_min`` then stands until enough is observed).
- ``door_open``: the PLC door signal (``coldroom.door_open``) true for ``for_min``.
- ``gateway_lost``: no ``gateway_health`` heartbeat for ``silent_min``. A gateway is known
  by its id only, so its alarm's ``location`` is the gateway id and only
  ``applies_to.locations`` (gateway ids) scopes it.
- ``stability_budget``: every ``every_min``, each lot present at a place in scope is
  judged (its exposure's budget use); a warning once its share left falls to
  ``warn_share_left``, a critical alarm once the budget is exhausted. Event-like: each is
  raised and cleared at once, once per lot and threshold (``lotalarms``).
- ``wrong_place``: an RFID read (``rfid_read``) of a unit of a lot at a read point whose
  location kind is not in ``allowed_kinds``; one event-like alarm per lot, read point and
  read time. ``applies_to.products`` (GTINs) picks the units; the place lists are unused.

``RuleSet.default()`` is what runs without a file; ``RuleSet.load(path)`` reads a YAML file
(top-level ``rules:``; ``notify:`` belongs to the notifications and is validated there).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from traceability.alarms.model import Severity
from traceability.alarms.rulefile import LoadedYaml, load_yaml, validate_section

# Top-level sections of the rule file other packages validate (by rulefile.validate_section).
OTHER_SECTIONS = frozenset({"notify"})

_Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class Scope(BaseModel):
    """Where a rule applies: each list given must match; all empty = everywhere."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kinds: tuple[str, ...] = ()  # location kinds: cold_room, reefer, box, dock_door, …
    locations: tuple[str, ...] = ()  # place URNs (gateway ids for gateway_lost)
    sites: tuple[str, ...] = ()  # telemetry site ids
    products: tuple[str, ...] = ()  # GTINs of products whose lots are at the place

    def matches_place(self, location: str, kind: str | None, site: str | None) -> bool:
        """Whether the place-level lists (kinds, locations, sites) match."""
        return (
            (not self.kinds or kind in self.kinds)
            and (not self.locations or location in self.locations)
            and (not self.sites or site in self.sites)
        )

    def matches_products(self, gtins: Iterable[str]) -> bool:
        """Whether ``products`` matches the GTINs of the lots at the place."""
        return not self.products or any(g in self.products for g in gtins)


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Id
    severity: Severity = "critical"
    applies_to: Scope = Scope()


class TemperatureRule(_Rule):
    """A product temperature outside its limits for ``for_min`` minutes."""

    kind: Literal["temperature"]
    above_c: float | None = None
    below_c: float | None = None
    band: Literal["product"] | None = None
    for_min: float = Field(gt=0)

    @model_validator(mode="after")
    def _limits(self) -> TemperatureRule:
        fixed = self.above_c is not None or self.below_c is not None
        if fixed and self.band is not None:
            raise ValueError("give above_c/below_c or band: product, not both")
        if not fixed and self.band is None:
            raise ValueError("give above_c and/or below_c, or band: product")
        if self.above_c is not None and self.below_c is not None and self.below_c >= self.above_c:
            raise ValueError(f"below_c ({self.below_c}) must be below above_c ({self.above_c})")
        return self


class ProbeOfflineRule(_Rule):
    """A probe that stops publishing."""

    kind: Literal["probe_offline"]
    severity: Severity = "warning"
    silent_min: float | None = Field(default=None, gt=0)
    intervals: float | None = Field(default=None, gt=1)

    @model_validator(mode="after")
    def _window(self) -> ProbeOfflineRule:
        if self.silent_min is None and self.intervals is None:
            raise ValueError("give silent_min and/or intervals (× the probe's median interval)")
        return self


class DoorOpenRule(_Rule):
    """A cold-room door left open."""

    kind: Literal["door_open"]
    severity: Severity = "warning"
    for_min: float = Field(gt=0)


class GatewayLostRule(_Rule):
    """A gateway whose heartbeat stopped (power failure, network, crash)."""

    kind: Literal["gateway_lost"]
    silent_min: float = Field(gt=0)


class StabilityBudgetRule(_Rule):
    """A lot's stability budget running out (warn) or spent (exhausted: critical)."""

    kind: Literal["stability_budget"]
    severity: Severity = "warning"  # of the warning; an exhausted budget is always critical
    warn_share_left: float = Field(default=0.5, gt=0, lt=1)
    every_min: float = Field(default=5, gt=0)  # each judgement reads an exposure from InfluxDB


class WrongPlaceRule(_Rule):
    """A unit read by an RFID reader at a place its lot must not be."""

    kind: Literal["wrong_place"]
    allowed_kinds: tuple[str, ...] = Field(min_length=1)  # e.g. [cold_room, reefer, dock_door]


SeriesRule = TemperatureRule | ProbeOfflineRule | DoorOpenRule | GatewayLostRule
LotRule = StabilityBudgetRule | WrongPlaceRule

Rule = Annotated[
    TemperatureRule
    | ProbeOfflineRule
    | DoorOpenRule
    | GatewayLostRule
    | StabilityBudgetRule
    | WrongPlaceRule,
    Field(discriminator="kind"),
]


class RuleSet(BaseModel):
    """The rules the hub evaluates (the ``rules:`` section of the rule file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[Rule, ...] = ()

    @classmethod
    def default(cls) -> RuleSet:
        """What runs without a file: the product band in cold rooms and reefers for 15 min,
        a probe silent 10 min, a door open 5 min, a gateway silent 5 min, a lot's stability
        budget half spent (no wrong_place rule: it needs the site's allowed kinds)."""
        return cls(
            rules=(
                TemperatureRule(
                    kind="temperature",
                    id="temperature-band",
                    band="product",
                    for_min=15,
                    applies_to=Scope(kinds=("cold_room", "reefer")),
                ),
                ProbeOfflineRule(kind="probe_offline", id="probe-offline", silent_min=10),
                DoorOpenRule(kind="door_open", id="door-open", for_min=5),
                GatewayLostRule(kind="gateway_lost", id="gateway-lost", silent_min=5),
                StabilityBudgetRule(kind="stability_budget", id="stability-budget"),
            )
        )

    @classmethod
    def load(cls, path: str | Path) -> RuleSet:
        """The rules of the YAML file at ``path``; ``RuleFileError`` naming the line."""
        return cls.from_yaml(load_yaml(path))

    @classmethod
    def from_yaml(cls, loaded: LoadedYaml) -> RuleSet:
        if not isinstance(loaded.data, dict):
            raise loaded.error((), "the file must be a mapping with a rules: list")
        for key in loaded.data:
            if key != "rules" and key not in OTHER_SECTIONS:
                known = ", ".join(sorted({"rules", *OTHER_SECTIONS}))
                raise loaded.error((key,), f"unknown section (known: {known})")
        if "rules" not in loaded.data:
            raise loaded.error(("rules",), "Field required")
        if loaded.data["rules"] is None:
            return cls()  # "rules:" with nothing under it: no rules, said on purpose
        rules = validate_section(_RulesSection, loaded, "rules")
        seen: set[str] = set()
        for index, rule in enumerate(rules.root):
            if rule.id in seen:
                raise loaded.error(("rules", index, "id"), f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return cls(rules=rules.root)


class _RulesSection(RootModel[tuple[Rule, ...]]):
    """The ``rules:`` list, validated on its own so error paths read ``rules[2].…``."""

    model_config = ConfigDict(frozen=True)
