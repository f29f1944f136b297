"""Grafana's expansion of InfluxQL queries: macros and template variables.

Panels store queries with ``$timeFilter``, ``$__interval`` and ``$variable``
placeholders that Grafana fills in before it sends the query to InfluxDB.
This module does the same expansion, following Grafana's InfluxDB plugin
(``interpolateQueryExpr``, ``getTimeFilter``) and ``rangeutil.roundInterval``,
so a panel's query can be run and checked outside Grafana (tests, ``tracehub
grafana check``). Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from grafana.errors import TemplateError

# rangeutil.roundInterval: (upper bound of the raw interval, rounded interval), ms.
_ROUNDING: tuple[tuple[int, int], ...] = (
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1_500, 1_000),
    (3_500, 2_000),
    (7_500, 5_000),
    (12_500, 10_000),
    (17_500, 15_000),
    (25_000, 20_000),
    (45_000, 30_000),
    (90_000, 60_000),
    (210_000, 120_000),
    (450_000, 300_000),
    (750_000, 600_000),
    (1_050_000, 900_000),
    (1_500_000, 1_200_000),
    (2_700_000, 1_800_000),
    (5_400_000, 3_600_000),
    (9_000_000, 7_200_000),
    (16_200_000, 10_800_000),
    (32_400_000, 21_600_000),
    (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
    (1_814_400_000, 604_800_000),
    (3_628_800_000, 2_592_000_000),
)
_YEAR_MS = 31_536_000_000

# Grafana's escapeRegex: the characters a value must not contribute to a regex.
_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|\[\]{}/]")
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def round_interval(raw_ms: float) -> int:
    """The "nice" interval Grafana picks for a raw interval (``roundInterval``)."""
    for bound, rounded in _ROUNDING:
        if raw_ms < bound:
            return rounded
    return _YEAR_MS


def interval_text(ms: int) -> str:
    """An interval in the largest whole InfluxQL unit (``60000`` → ``1m``)."""
    if ms <= 0:
        raise TemplateError(f"interval must be > 0 ms, got {ms}")
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def escape_regex(value: str) -> str:
    """Escape a value for use inside an InfluxQL ``/regex/`` (Grafana's escapeRegex)."""
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


class TimeRange(BaseModel):
    """The dashboard's time range, absolute (as Grafana resolves it before querying)."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time range bounds must be timezone-aware (e.g. tzinfo=UTC)")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError(f"time range end {self.end} must be after start {self.start}")
        return self

    @property
    def start_ms(self) -> int:
        return math.floor(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return math.floor(self.end.timestamp() * 1000)

    def interval_ms(self, max_data_points: int = 1000, min_interval_ms: int = 10_000) -> int:
        """``$__interval`` in ms: range / max data points, rounded, at least the minimum.

        Grafana's InfluxDB data source defaults its minimum ("Min time
        interval") to 10 s; ``max_data_points`` is the panel's width in pixels
        unless the panel sets it.
        """
        if max_data_points <= 0:
            raise TemplateError(f"max_data_points must be > 0, got {max_data_points}")
        raw = (self.end_ms - self.start_ms) / max_data_points
        return max(round_interval(raw), min_interval_ms)


class Variable(BaseModel):
    """A dashboard template variable's current selection."""

    model_config = ConfigDict(frozen=True)

    name: str
    values: tuple[str, ...]
    multi: bool = False
    include_all: bool = False
    all_value: str | None = None
    all_selected: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(f"variable name {value!r} must be a word ([A-Za-z_][A-Za-z0-9_]*)")
        return value

    @model_validator(mode="after")
    def _selected(self) -> Variable:
        if not self.values and not (self.all_selected and self.all_value is not None):
            raise ValueError(f"variable {self.name!r}: values must not be empty")
        if len(self.values) > 1 and not (self.multi or self.include_all):
            raise ValueError(
                f"variable {self.name!r}: several values need multi=True or include_all=True"
            )
        return self

    def render(self, in_regex: bool) -> str:
        """The text Grafana's InfluxDB plugin substitutes for this variable."""
        if self.all_selected and self.all_value is not None:
            return self.all_value  # a custom "All" value is used verbatim
        if self.multi or self.include_all:
            escaped = [escape_regex(v) for v in self.values]
            return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"
        value = self.values[0]
        if _is_number(value):
            return value
        return escape_regex(value) if in_regex else value


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _in_regex(query: str, position: int) -> bool:
    """Whether ``position`` lies inside a ``=~ /.../`` or ``!~ /.../`` literal."""
    for match in re.finditer(r"[=!]~\s*/((?:[^/\\\n]|\\.)*)/", query):
        if match.start(1) <= position < match.end(1):
            return True
    return False


def expand(
    query: str,
    time_range: TimeRange,
    variables: Sequence[Variable] | Mapping[str, Variable] = (),
    *,
    interval_ms: int | None = None,
) -> str:
    """``query`` as Grafana would send it to InfluxDB for this range and selection.

    ``$timeFilter``/``$__timeFilter`` become ``time >= {from}ms and time <=
    {to}ms``; ``$__interval``/``$interval`` the rounded interval
    (``interval_ms`` or :meth:`TimeRange.interval_ms`); ``$__interval_ms``,
    ``$__from`` and ``$__to`` milliseconds; ``$name``, ``${name}`` and
    ``[[name]]`` the variable's value, regex-escaped where Grafana escapes it.
    A variable the query names but ``variables`` lacks raises TemplateError.
    """
    by_name = dict(variables) if isinstance(variables, Mapping) else {v.name: v for v in variables}
    step = interval_ms if interval_ms is not None else time_range.interval_ms()
    macros = {
        "timeFilter": f"time >= {time_range.start_ms}ms and time <= {time_range.end_ms}ms",
        "__timeFilter": f"time >= {time_range.start_ms}ms and time <= {time_range.end_ms}ms",
        "__interval_ms": str(step),
        "__interval": interval_text(step),
        "interval": interval_text(step),
        "__from": str(time_range.start_ms),
        "__to": str(time_range.end_ms),
    }

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in macros:
            return macros[name]
        variable = by_name.get(name)
        if variable is None:
            raise TemplateError(
                f"query uses ${name} but no value was given for it; "
                f"pass Variable(name={name!r}, values=(...))"
            )
        return variable.render(_in_regex(query, match.start()))

    return _VARIABLE.sub(substitute, query)
