"""The EPCIS query parameters of the sensor data and those whose name carries a unit, a
type or an extension field (``EQ_value_CEL``, ``EQ_bizTransaction_po``,
``GE_INNER_ILMD_example:bestBefore``), each read into a ``Condition`` (pure).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from gs1.epcis.querycondition import (
    OPS,
    Condition,
    Descendants,
    bad,
    exists_param,
    listed_param,
    number_value,
    quantity_test,
    split_values,
    time_value,
    uri_values,
)
from gs1.epcis.querymatch import (
    compare,
    field_values,
    parse_time,
    sensor_metadata,
    sensor_reports,
    value_equals,
    vocabulary_term,
)

_FIELD = r"(?P<field>[A-Za-z][A-Za-z0-9]*:[\w.\-]+)"
EXTENSION = re.compile(
    r"(?P<op>EQ|GT|GE|LT|LE|EXISTS)_(?P<inner>INNER_)?"
    r"(?:(?P<scope>ILMD|ERROR_DECLARATION|SENSORELEMENT|SENSORMETADATA|SENSORREPORT"
    r"|readPoint|bizLocation)_)?" + _FIELD
)
WITH_UOM = re.compile(
    r"(?P<op>EQ|GT|GE|LT|LE)_(?P<field>quantity|value|minValue|maxValue|meanValue|sDev"
    r"|percValue)_(?P<uom>[A-Z0-9]{2,4})"
)
TYPED_LIST = re.compile(r"EQ_(?P<list>bizTransaction|source|destination)_(?P<type>\w+)")


def _sensor_time(key: str, reports_too: bool) -> Callable[..., Condition]:
    def make(name: str, text: str) -> Condition:
        moment, ge = time_value(name, text), name.startswith("GE")

        def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
            holders = [*sensor_metadata(e), *(sensor_reports(e) if reports_too else ())]
            for holder in holders:
                raw = holder.get(key)
                at = parse_time(raw) if isinstance(raw, str) else None
                if at is not None and (at >= moment if ge else at < moment):
                    return True
            return False

        return Condition(name=name, kind="time", moment=moment, test=test)

    return make


def _sensor_list(key: str, metadata: bool, reports: bool, uri: bool) -> Callable[..., Condition]:
    def get(e: Mapping[str, Any]) -> Iterable[Any]:
        holders = [
            *(sensor_metadata(e) if metadata else ()),
            *(sensor_reports(e) if reports else ()),
        ]
        return [h.get(key) for h in holders]

    return listed_param(get, uri)


def _measurement_type(name: str, text: str) -> Condition:
    values = tuple(vocabulary_term(v) for v in split_values(name, text))
    wanted = frozenset(values)
    return Condition(
        name=name,
        kind="list",
        values=values,
        test=lambda e, r, d, i: any(
            isinstance(t := rep.get("type"), str) and vocabulary_term(t) in wanted
            for rep in sensor_reports(e)
        ),
    )


def _hex_value(name: str, text: str) -> Condition:
    values = tuple(v.lower() for v in split_values(name, text))
    wanted = frozenset(values)
    return Condition(
        name=name,
        kind="list",
        values=values,
        test=lambda e, r, d, i: any(
            isinstance(v := rep.get("hexBinaryValue"), str) and v.lower() in wanted
            for rep in sensor_reports(e)
        ),
    )


def _boolean_value(name: str, text: str) -> Condition:
    if text not in ("true", "false"):
        raise bad(name, f"{text!r}: use true or false")
    wanted = text == "true"
    return Condition(
        name=name,
        kind="bool",
        values=(text,),
        test=lambda e, r, d, i: any(rep.get("booleanValue") is wanted for rep in sensor_reports(e)),
    )


def _perc_rank(name: str, text: str) -> Condition:
    number, op = number_value(name, text), name[:2]
    return Condition(
        name=name,
        kind="number",
        number=number,
        test=lambda e, r, d, i: any(
            compare(rep.get("percRank"), op, number) for rep in sensor_reports(e)
        ),
    )


def _exists_sensors(e: Mapping[str, Any]) -> bool:
    found = e.get("sensorElementList")
    return isinstance(found, list) and len(found) > 0


SENSOR_PARAMS: dict[str, Callable[[str, str], Condition]] = {
    "EXISTS_sensorElementList": exists_param(_exists_sensors),
    "GE_time": _sensor_time("time", reports_too=True),
    "LT_time": _sensor_time("time", reports_too=True),
    "GE_startTime": _sensor_time("startTime", reports_too=False),
    "LT_startTime": _sensor_time("startTime", reports_too=False),
    "GE_endTime": _sensor_time("endTime", reports_too=False),
    "LT_endTime": _sensor_time("endTime", reports_too=False),
    "EQ_type": _measurement_type,
    "EQ_deviceID": _sensor_list("deviceID", metadata=True, reports=True, uri=True),
    "EQ_dataProcessingMethod": _sensor_list(
        "dataProcessingMethod", metadata=True, reports=True, uri=True
    ),
    "EQ_microorganism": _sensor_list("microorganism", metadata=False, reports=True, uri=True),
    "EQ_chemicalSubstance": _sensor_list(
        "chemicalSubstance", metadata=False, reports=True, uri=True
    ),
    "EQ_bizRules": _sensor_list("bizRules", metadata=True, reports=False, uri=True),
    "EQ_stringValue": _sensor_list("stringValue", metadata=False, reports=True, uri=False),
    "EQ_hexBinaryValue": _hex_value,
    "EQ_uriValue": _sensor_list("uriValue", metadata=False, reports=True, uri=True),
    "EQ_booleanValue": _boolean_value,
    **{f"{op}_percRank": _perc_rank for op in OPS},
}


# --- names with a unit, a type or an extension field ---------------------------


def _with_uom(name: str, text: str, found: re.Match[str]) -> Condition:
    op, field, uom = found["op"], found["field"], found["uom"]
    if field == "quantity":
        if op == "EQ":
            numbers = tuple(number_value(name, v) for v in split_values(name, text))
            return Condition(name=name, kind="numbers", test=quantity_test("EQ", uom, numbers))
        number = number_value(name, text)
        return Condition(
            name=name, kind="number", number=number, test=quantity_test(op, uom, (number,))
        )
    if op == "EQ" and field != "value":
        raise bad(name, f"EQ_ is defined for value only; use GT_/GE_/LT_/LE_{field}_{uom}")
    wanted = (
        tuple(number_value(name, v) for v in split_values(name, text))
        if op == "EQ"
        else (number_value(name, text),)
    )

    def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
        return any(
            rep.get("uom") == uom and any(compare(rep.get(field), op, w) for w in wanted)
            for rep in sensor_reports(e)
        )

    if op == "EQ":
        return Condition(name=name, kind="numbers", test=test)
    return Condition(name=name, kind="number", number=wanted[0], test=test)


def _typed_list(name: str, text: str, found: re.Match[str]) -> Condition:
    key, kind = found["list"], vocabulary_term(found["type"])
    values = uri_values(name, split_values(name, text))
    wanted = frozenset(values)
    list_key = f"{key}List"

    def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
        entries = e.get(list_key)
        for entry in entries if isinstance(entries, list) else ():
            if not isinstance(entry, Mapping):
                continue
            typed = entry.get("type")
            if (
                isinstance(typed, str)
                and vocabulary_term(typed) == kind
                and entry.get(key) in wanted
            ):
                return True
        return False

    return Condition(name=name, kind="list", values=values, test=test)


def _extension(name: str, text: str, found: re.Match[str]) -> Condition:
    op, inner, field = found["op"], found["inner"] is not None, found["field"]
    scope = found["scope"] or ""
    needle = json.dumps(field, ensure_ascii=False)  # the key as canonical JSON writes it

    def values(e: Mapping[str, Any]) -> Iterable[Any]:
        return field_values(e, scope, inner, field)

    if op == "EXISTS":
        if text not in ("", "true", "1", "null"):
            raise bad(name, f"{text!r}: EXISTS_ takes no value (or true); leave it empty")
        return Condition(
            needle=needle,
            name=name,
            kind="exists",
            test=lambda e, r, d, i: any(True for _ in values(e)),
        )
    if op == "EQ":
        wanted = split_values(name, text)
        return Condition(
            needle=needle,
            name=name,
            kind="ext",
            values=wanted,
            test=lambda e, r, d, i: any(value_equals(v, w) for v in values(e) for w in wanted),
        )
    bound: float | datetime
    try:
        bound = float(text)
    except ValueError:
        bound = time_value(name, text)

    def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
        return any(compare(v, op, bound) for v in values(e))

    if isinstance(bound, datetime):
        return Condition(needle=needle, name=name, kind="time", moment=bound, test=test)
    return Condition(needle=needle, name=name, kind="number", number=bound, test=test)


PATTERNS: tuple[tuple[re.Pattern[str], Callable[[str, str, re.Match[str]], Condition]], ...] = (
    (WITH_UOM, _with_uom),
    (TYPED_LIST, _typed_list),
    (EXTENSION, _extension),
)
