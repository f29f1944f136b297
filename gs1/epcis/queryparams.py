"""The EPCIS query's parameter table: each parameter name → how its value is read and
what it asks of an event (pure; ``gs1.epcis.query`` is the entry point).

``build_condition(name, text)`` reads one URL parameter into a ``Condition``: its checked
values (``values``, ``moment``, ``number``) and its ``test`` on an event body. A name
the standard does not define, or a value the parameter cannot take, raises
``QueryParameterInvalid`` naming the parameter and the fix. ``text_value`` and
``json_value`` convert between the URL form (``a|b``) and the query-schema JSON form
(``["a", "b"]``) of a value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from gs1.epcis.querycondition import (
    EVENT_TYPES,
    OPS,
    Condition,
    Descendants,
    Kind,
    bad,
    cbv_term,
    cbv_values,
    epc_values,
    error_declaration,
    exists_param,
    listed_param,
    location_id,
    number_value,
    quantity_test,
    split_values,
    text_field,
    time_value,
    uri_values,
)
from gs1.epcis.queryfields import EXTENSION, PATTERNS, SENSOR_PARAMS, WITH_UOM
from gs1.epcis.querymatch import (
    CLASS_FIELDS,
    EPC_FIELDS,
    classes_of,
    epc_matches,
    epcs_of,
    parse_time,
    vocabulary_term,
)

_ACTIONS = frozenset({"ADD", "OBSERVE", "DELETE"})
_ERROR_REASONS = frozenset({"did_not_occur", "incorrect_data"})
_CONTROL_KINDS: dict[str, Kind] = {
    "orderBy": "text",
    "orderDirection": "text",
    "eventCountLimit": "count",
    "maxEventCount": "count",
}


def build_condition(name: str, text: str) -> Condition:
    """The condition of URL parameter ``name`` with value ``text``."""
    builder = _FIXED.get(name)
    if builder is not None:
        return builder(name, text)
    for pattern, make in PATTERNS:
        found = pattern.fullmatch(name)
        if found is not None:
            return make(name, text, found)
    if name.startswith(("HASATTR_", "EQ_ATTR_")):
        raise bad(name, "master-data attribute queries are not supported by this repository")
    if name in ("perPage", "nextPageToken"):
        raise bad(name, "is a paging parameter of GET /events, not part of a query")
    raise bad(
        name,
        "is not an EPCIS 2.0 query parameter; see the binding's parameter list "
        "(EQ_bizStep, MATCH_epc, GE_eventTime, …) or name an extension field as prefix:name",
    )


# --- fixed names -----------------------------------------------------------------


def _event_type(name: str, text: str) -> Condition:
    values = split_values(name, text)
    for value in values:
        if value not in EVENT_TYPES and ":" not in value:
            raise bad(name, f"{value!r} is not an event type; use one of {sorted(EVENT_TYPES)}")
    wanted = frozenset(values)
    return Condition(
        name=name, kind="list", values=values, test=lambda e, r, d, i: e.get("type") in wanted
    )


def _event_time(name: str, text: str) -> Condition:
    moment, op = time_value(name, text), name[:2]

    def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
        raw = text_field(e, "eventTime")
        at = parse_time(raw) if raw else None
        return at is not None and (at >= moment if op == "GE" else at < moment)

    return Condition(name=name, kind="time", moment=moment, test=test)


def _record_time(name: str, text: str) -> Condition:
    moment, ge = time_value(name, text), name.startswith("GE")
    return Condition(
        name=name,
        kind="time",
        moment=moment,
        test=lambda e, r, d, i: r >= moment if ge else r < moment,
    )


def _action(name: str, text: str) -> Condition:
    values = split_values(name, text)
    for value in values:
        if value not in _ACTIONS:
            raise bad(name, f"{value!r} is not an action; use ADD, OBSERVE or DELETE")
    wanted = frozenset(values)
    return Condition(
        name=name, kind="list", values=values, test=lambda e, r, d, i: e.get("action") in wanted
    )


def _vocab(key: str, vocabulary: Literal["bizStep", "disposition"]) -> Callable[..., Condition]:
    def make(name: str, text: str) -> Condition:
        values = cbv_values(name, vocabulary, text)
        wanted = frozenset(values)
        return Condition(
            name=name,
            kind="list",
            values=values,
            test=lambda e, r, d, i: cbv_term(vocabulary, e.get(key)) in wanted,
        )

    return make


def _persistent(name: str, text: str) -> Condition:
    values = cbv_values(name, "disposition", text)
    wanted, part = frozenset(values), name.rsplit("_", 1)[1]  # set or unset

    def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
        persistent = e.get("persistentDisposition")
        listed = persistent.get(part) if isinstance(persistent, Mapping) else None
        return isinstance(listed, list) and any(
            cbv_term("disposition", v) in wanted for v in listed
        )

    return Condition(name=name, kind="list", values=values, test=test)


def _place(key: str, with_descendants: bool) -> Callable[..., Condition]:
    def make(name: str, text: str) -> Condition:
        values = uri_values(name, split_values(name, text))
        exact = frozenset(values)

        def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
            where = location_id(e, key)
            if where is None:
                return False
            if where in exact:
                return True
            if not with_descendants or d is None:
                return False
            return any(where in set(d(v)) for v in values)

        return Condition(name=name, kind="list", values=values, test=test)

    return make


def _match_epc(name: str, text: str) -> Condition:
    values = epc_values(name, text)
    fields = EPC_FIELDS.get(name)
    if fields is not None:
        found: Callable[[Mapping[str, Any]], Iterable[str]] = lambda e: epcs_of(e, fields)  # noqa: E731
    else:
        class_fields = CLASS_FIELDS[name]
        found = lambda e: classes_of(e, class_fields)  # noqa: E731
    return Condition(
        name=name,
        kind="list",
        values=values,
        test=lambda e, r, d, i: any(epc_matches(q, epc) for epc in found(e) for q in values),
    )


def _event_id(name: str, text: str) -> Condition:
    values = uri_values(name, split_values(name, text))
    wanted = frozenset(values)
    return Condition(
        name=name,
        kind="list",
        values=values,
        test=lambda e, r, d, i: e.get("eventID") in wanted or (i is not None and i in wanted),
    )


def _error_time(name: str, text: str) -> Condition:
    moment, ge = time_value(name, text), name.startswith("GE")

    def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
        declared = error_declaration(e)
        raw = declared.get("declarationTime") if declared else None
        at = parse_time(raw) if isinstance(raw, str) else None
        return at is not None and (at >= moment if ge else at < moment)

    return Condition(name=name, kind="time", moment=moment, test=test)


def _error_reason(name: str, text: str) -> Condition:
    values = tuple(vocabulary_term(v) for v in split_values(name, text))
    for value in values:
        if value not in _ERROR_REASONS and ":" not in value:
            raise bad(
                name,
                f"{value!r} is not a CBV error reason; use did_not_occur, "
                "incorrect_data or a URI of your own",
            )
    wanted = frozenset(values)

    def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
        declared = error_declaration(e)
        reason = declared.get("reason") if declared else None
        return isinstance(reason, str) and vocabulary_term(reason) in wanted

    return Condition(name=name, kind="list", values=values, test=test)


def _corrective(e: Mapping[str, Any]) -> Iterable[Any]:
    declared = error_declaration(e)
    ids = declared.get("correctiveEventIDs") if declared else None
    return ids if isinstance(ids, list) else ()


def _quantity(name: str, text: str) -> Condition:
    op = name[:2]
    if op == "EQ":
        numbers = tuple(number_value(name, v) for v in split_values(name, text))
        return Condition(name=name, kind="numbers", test=quantity_test("EQ", None, numbers))
    number = number_value(name, text)
    return Condition(
        name=name, kind="number", number=number, test=quantity_test(op, None, (number,))
    )


_FIXED: dict[str, Callable[[str, str], Condition]] = {
    "eventType": _event_type,
    "GE_eventTime": _event_time,
    "LT_eventTime": _event_time,
    "GE_recordTime": _record_time,
    "LT_recordTime": _record_time,
    "EQ_action": _action,
    "EQ_bizStep": _vocab("bizStep", "bizStep"),
    "EQ_disposition": _vocab("disposition", "disposition"),
    "EQ_persistentDisposition_set": _persistent,
    "EQ_persistentDisposition_unset": _persistent,
    "EQ_readPoint": _place("readPoint", False),
    "WD_readPoint": _place("readPoint", True),
    "EQ_bizLocation": _place("bizLocation", False),
    "WD_bizLocation": _place("bizLocation", True),
    "EQ_transformationID": listed_param(lambda e: [e.get("transformationID")], uri=False),
    **{name: _match_epc for name in (*EPC_FIELDS, *CLASS_FIELDS)},
    **{f"{op}_quantity": _quantity for op in ("EQ", *OPS)},
    "EQ_eventID": _event_id,
    "EXISTS_errorDeclaration": exists_param(lambda e: error_declaration(e) is not None),
    "GE_errorDeclarationTime": _error_time,
    "LT_errorDeclarationTime": _error_time,
    "EQ_errorReason": _error_reason,
    "EQ_correctiveEventID": listed_param(_corrective, uri=True),
    **SENSOR_PARAMS,
}


# --- URL text ↔ query-schema JSON ----------------------------------------------


_FIXED_KINDS: dict[str, Kind] = {
    **{
        f"{op}_{field}": "time"
        for op in ("GE", "LT")
        for field in (
            "eventTime",
            "recordTime",
            "errorDeclarationTime",
            "time",
            "startTime",
            "endTime",
        )
    },
    **{f"{op}_quantity": "number" for op in OPS},
    **{f"{op}_percRank": "number" for op in OPS},
    "EQ_quantity": "numbers",
    "EQ_booleanValue": "bool",
    "EXISTS_errorDeclaration": "exists",
    "EXISTS_sensorElementList": "exists",
}


def _kind_of(name: str) -> Kind:
    """The value kind of parameter ``name`` (how its URL text maps to JSON)."""
    if name in _CONTROL_KINDS:
        return _CONTROL_KINDS[name]
    if name in _FIXED:
        return _FIXED_KINDS.get(name, "list")
    found_uom = WITH_UOM.fullmatch(name)
    if found_uom is not None:
        return "numbers" if found_uom["op"] == "EQ" else "number"
    found_ext = EXTENSION.fullmatch(name)
    if found_ext is not None:
        op: str = found_ext["op"]
        return "exists" if op == "EXISTS" else "ext" if op == "EQ" else "number"
    return "list"


def text_value(name: str, value: Any) -> str:
    """The URL form of a query-schema JSON value of parameter ``name``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if not value:
            raise bad(name, "is an empty list; give at least one value or leave it out")
        return "|".join(text_value(name, v) for v in value)
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        if "|" in value and _kind_of(name) in ("list", "ext", "numbers"):
            raise bad(name, f"{value!r}: a JSON query gives list values as an array")
        return value
    raise bad(name, f"{type(value).__name__} is not a value this parameter takes")


def json_value(name: str, text: str) -> Any:
    """The query-schema JSON form of URL value ``text`` of parameter ``name``."""
    kind = _kind_of(name)
    if kind == "list" or kind == "ext":
        return text.split("|")
    if kind == "numbers":
        return [_json_number(v) for v in text.split("|")]
    if kind == "number":
        try:
            return _json_number(text)
        except ValueError:
            return text  # an extension field's time bound
    if kind == "count":
        return int(text)
    if kind == "bool":
        return text == "true"
    if kind == "exists":
        return None
    return text  # time, text


def _json_number(text: str) -> int | float:
    number = float(text)
    return int(number) if number.is_integer() and "." not in text and "e" not in text else number
