"""The temperature unit of an export: stated by the column header, the preamble or the
user, or refused. Never assumed: 40 read as °C when the logger meant °F is a lie in
the evidence."""

from __future__ import annotations

import re

from sensors.loggers.errors import LoggerFileError
from sensors.loggers.export import Unit

# "Temperature(°C)", "Temperature [°F]", "temperature_c", "Temp (deg F)", "Temperature(℃)"
_IN_BRACKETS = re.compile(r"[(\[]\s*(?:°|º|˚|deg\.?\s*)?\s*([cf])\s*[)\]]", re.IGNORECASE)
_SUFFIX = re.compile(r"(?:[_\s-]|°|º)([cf])$", re.IGNORECASE)
_WORDS = {"°c": "C", "℃": "C", "c": "C", "celsius": "C", "degc": "C", "deg c": "C",
          "°f": "F", "℉": "F", "f": "F", "fahrenheit": "F", "degf": "F", "deg f": "F"}  # fmt: skip
UNIT_FIX = (
    'name the unit in the temperature column\'s header (e.g. "Temperature(°C)", '
    '"temperature_f") or give --unit C|F'
)


def unit_of_header(cell: str) -> Unit | None:
    """The unit a temperature column's header names, if it names one."""
    text = cell.strip()
    if "℃" in text:
        return "C"
    if "℉" in text:
        return "F"
    for pattern in (_IN_BRACKETS, _SUFFIX):
        found = pattern.search(text)
        if found:
            return "C" if found.group(1).lower() == "c" else "F"
    return None


def unit_of_word(text: str) -> Unit | None:
    """A unit written on its own (a preamble's "Temperature Unit: °F", ``--unit F``)."""
    word = re.sub(r"\s+", " ", text.strip().lower())
    found = _WORDS.get(word)
    return "C" if found == "C" else "F" if found == "F" else None


def resolve_unit(header: Unit | None, preamble: str | None, given: str | None) -> Unit:
    """The one unit every statement agrees on; refused if none is made or two disagree."""
    stated: list[tuple[str, Unit]] = []
    if header is not None:
        stated.append(("the temperature column's header", header))
    for where, text in (("the preamble", preamble), ("--unit", given)):
        if text is None:
            continue
        unit = unit_of_word(text)
        if unit is None:
            raise LoggerFileError(f"{where} names the unit {text!r}: use °C or °F (C or F)")
        stated.append((where, unit))
    if not stated:
        raise LoggerFileError(f"the file does not say whether it is °C or °F: {UNIT_FIX}")
    units = {unit for _, unit in stated}
    if len(units) > 1:
        said = ", ".join(f"{where} says °{unit}" for where, unit in stated)
        raise LoggerFileError(f"the unit is contradictory ({said}): correct the one that is wrong")
    return stated[0][1]


def to_celsius(value: float, unit: Unit) -> float:
    """°C rounded to 0.001 (far below any logger's resolution, and no 3.8888888889)."""
    return round(value if unit == "C" else (value - 32.0) * 5.0 / 9.0, 3)
