"""Emission factors: one cited row each, default (shipped) or primary (the user's own).

The shipped table is ``data/emission_factors.csv``: every row was copied, value and
citation, from the GLEC Framework v3.0 rows of the project's ISO 14083 / GLEC
reference data (see docs/carbon.md). A factor must name its source, edition and a
citation; a row without one is rejected. Users add their carrier's primary data
with :meth:`FactorTable.with_primary`; a primary factor wins over a default one for
the same (kind, mode, vehicle class), and every report says which was used.

Values keep the source's own unit; :attr:`EmissionFactor.kg_per_base_unit` converts
to the one base unit per kind that the calculation multiplies with.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from traceability.carbon.errors import FactorError

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


class Scope(StrEnum):
    """Emission scope of a factor. Reports sum WTW only (ISO 14083)."""

    WTW = "WTW"
    TTW = "TTW"
    WTT = "WTT"
    NA = "na"  # multipliers that are not an emission scope: uplift %, GWP, packaging


class FactorKind(StrEnum):
    TRANSPORT = "transport"  # per tonne-km (or TEU-km) of a mode and vehicle class
    UPLIFT = "uplift"  # % added to a transport factor for temperature control
    HUB = "hub"  # per tonne handled at a logistics site
    GRID = "grid"  # per kWh of grid electricity in a country/region
    REFRIGERANT = "refrigerant"  # GWP100 per kg of refrigerant leaked
    PACKAGING = "packaging"  # per kg of packaging material


Origin = Literal["default", "primary"]

# unit -> (kg CO2e per base unit multiplier, base unit) per kind.
_UNITS: dict[FactorKind, dict[str, tuple[float, str]]] = {
    FactorKind.TRANSPORT: {
        "g CO2e/t-km": (1e-3, "kg CO2e/t-km"),
        "kg CO2e/t-km": (1.0, "kg CO2e/t-km"),
        "g CO2e/TEU-km": (1e-3, "kg CO2e/TEU-km"),
        "kg CO2e/TEU-km": (1.0, "kg CO2e/TEU-km"),
    },
    FactorKind.UPLIFT: {"%": (1e-2, "fraction")},
    FactorKind.HUB: {"kg CO2e/t": (1.0, "kg CO2e/t"), "g CO2e/t": (1e-3, "kg CO2e/t")},
    FactorKind.GRID: {
        "g CO2e/kWh": (1e-3, "kg CO2e/kWh"),
        "kg CO2e/kWh": (1.0, "kg CO2e/kWh"),
        "g CO2e/MJ": (3.6e-3, "kg CO2e/kWh"),  # 1 kWh = 3.6 MJ
    },
    FactorKind.REFRIGERANT: {"kg CO2e/kg": (1.0, "kg CO2e/kg")},
    FactorKind.PACKAGING: {
        "kg CO2e/kg": (1.0, "kg CO2e/kg"),
        "kg CO2e/t": (1e-3, "kg CO2e/kg"),
    },
}

# EU-27 member states (ISO 3166-1 alpha-2): a site there falls back to the EU-27 grid
# factor when the table has none for its country, and the report says so.
EU27 = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    ]
)


class EmissionFactor(BaseModel):
    """One cited factor. ``value`` is in ``unit``, as the source printed it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    kind: FactorKind
    mode: str
    vehicle_class: str = ""
    temperature_controlled: Literal["yes", "no", "na"] = "na"
    region: str = ""
    value: float
    unit: str
    scope: Scope
    source: str
    edition: str
    table: str = ""
    citation: str
    notes: str = ""
    origin: Origin = "default"

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError(
                "must be 1-128 of a-z, 0-9, '.', '_', '-' starting with a letter or digit"
            )
        return value

    @field_validator("source", "edition", "citation")
    @classmethod
    def _cited(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(
                "required (every factor names its source, edition and a citation, "
                "a URL or document and page, so an auditor can check it)"
            )
        return value.strip()

    @field_validator("value")
    @classmethod
    def _value(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError("must be a finite number >= 0")
        return value

    @model_validator(mode="after")
    def _unit(self) -> EmissionFactor:
        allowed = _UNITS[self.kind]
        if self.unit not in allowed:
            raise ValueError(
                f"unit {self.unit!r} is not known for a {self.kind.value} factor; "
                f"use one of {sorted(allowed)}"
            )
        return self

    @property
    def kg_per_base_unit(self) -> float:
        """``value`` converted to kg CO2e per :attr:`base_unit` (a fraction for uplifts)."""
        return self.value * _UNITS[self.kind][self.unit][0]

    @property
    def base_unit(self) -> str:
        return _UNITS[self.kind][self.unit][1]

    def disclosure(self) -> dict[str, Any]:
        """Everything a report prints about this factor."""
        return {
            "id": self.id,
            "origin": self.origin,
            "kind": self.kind.value,
            "mode": self.mode,
            "vehicleClass": self.vehicle_class,
            "temperatureControlled": self.temperature_controlled,
            "region": self.region,
            "value": self.value,
            "unit": self.unit,
            "scope": self.scope.value,
            "source": self.source,
            "edition": self.edition,
            "table": self.table,
            "citation": self.citation,
        }


def parse_factor(data: Mapping[str, Any], where: str, origin: Origin) -> EmissionFactor:
    """One factor from a mapping (CSV row or JSON object); ``where`` prefixes error fields."""
    try:
        return EmissionFactor.model_validate({**data, "origin": origin})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = ".".join(str(part) for part in error["loc"])
        field = f"{where}.{loc}" if loc else where
        raise FactorError(field, str(error["msg"]).removeprefix("Value error, ")) from exc


class FactorTable(BaseModel):
    """An immutable set of factors with unique ids."""

    model_config = ConfigDict(frozen=True)

    factors: tuple[EmissionFactor, ...]

    @model_validator(mode="after")
    def _unique(self) -> FactorTable:
        seen: set[str] = set()
        for factor in self.factors:
            if factor.id in seen:
                raise ValueError(
                    f"factor id {factor.id!r} appears twice; give a primary factor its own id"
                )
            seen.add(factor.id)
        return self

    def get(self, factor_id: str) -> EmissionFactor | None:
        for factor in self.factors:
            if factor.id == factor_id:
                return factor
        return None

    def with_primary(self, factors: Iterable[EmissionFactor | Mapping[str, Any]]) -> FactorTable:
        """This table plus the user's own factors, marked ``primary``."""
        added = [
            factor.model_copy(update={"origin": "primary"})
            if isinstance(factor, EmissionFactor)
            else parse_factor(factor, f"factors[{index}]", "primary")
            for index, factor in enumerate(factors)
        ]
        for index, factor in enumerate(added):
            if self.get(factor.id) is not None:
                raise FactorError(
                    f"factors[{index}].id",
                    f"{factor.id!r} is already a factor of the table; give your factor its own id",
                )
        try:
            return FactorTable(factors=(*self.factors, *added))
        except ValidationError as exc:
            raise FactorError("factors", str(exc.errors()[0]["msg"])) from exc

    def find(self, kind: FactorKind, mode: str, vehicle_class: str) -> EmissionFactor | None:
        """The factor for (kind, mode, vehicle class); a primary one wins over a default."""
        matches = [
            factor
            for factor in self.factors
            if factor.kind is kind and factor.mode == mode and factor.vehicle_class == vehicle_class
        ]
        for origin in ("primary", "default"):
            chosen = [factor for factor in matches if factor.origin == origin]
            if len(chosen) > 1:
                ids = ", ".join(factor.id for factor in chosen)
                raise FactorError(
                    f"{kind.value} factors for {mode}/{vehicle_class}",
                    f"{len(chosen)} {origin} factors match ({ids}); name one by factor_id",
                )
            if chosen:
                return chosen[0]
        return None

    def grid(self, country: str) -> tuple[EmissionFactor, str] | None:
        """The grid factor for ``country`` (ISO alpha-2) and how it was chosen."""
        exact = [
            factor
            for factor in self.factors
            if factor.kind is FactorKind.GRID and factor.region == country
        ]
        exact.sort(key=lambda factor: factor.origin != "primary")
        if exact:
            return exact[0], f"grid factor for {country}"
        if country in EU27:
            eu = self.grid("EU")
            if eu is not None:
                return eu[0], (
                    f"no grid factor for {country} in the table: EU-27 average used "
                    f"({country} is an EU member state)"
                )
        return None


def read_factor_csv(text: str, name: str, origin: Origin) -> FactorTable:
    """A table from CSV text with the columns of ``data/emission_factors.csv``."""
    reader = csv.DictReader(io.StringIO(text))
    factors = []
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        cleaned = {key: value for key, value in row.items() if key is not None}
        factors.append(parse_factor(cleaned, f"{name} line {number}", origin))
    try:
        return FactorTable(factors=tuple(factors))
    except ValidationError as exc:
        raise FactorError(name, str(exc.errors()[0]["msg"])) from exc


@cache
def load_default_factors() -> FactorTable:
    """The shipped, cited default table (read from the package, never from the network)."""
    resource = resources.files("traceability.carbon").joinpath("data/emission_factors.csv")
    return read_factor_csv(resource.read_text(encoding="utf-8"), "emission_factors.csv", "default")


class PrimaryFactorRow(EmissionFactor):
    """One imported row of the user's own factors (``tracehub records import
    primary_factors``): always ``primary``, and never under a default factor's id."""

    @model_validator(mode="before")
    @classmethod
    def _primary(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        # Blank optional CSV cells take the column's default (a blank source, edition
        # or citation stays blank, to be refused with the reason); the origin is not
        # the file's to choose.
        cited = {key: "" for key in ("source", "edition", "citation") if data.get(key) is None}
        kept = {key: value for key, value in data.items() if value is not None}
        return kept | cited | {"origin": "primary"}

    @field_validator("id")
    @classmethod
    def _own_id(cls, value: str) -> str:
        if load_default_factors().get(value) is not None:
            raise ValueError(
                f"{value!r} is a default factor's id; give your factor its own id "
                "(it wins over the default for the same kind, mode and vehicle class)"
            )
        return value
