"""One checked EPCIS query parameter (``Condition``) and the value readers every
parameter builder shares (pure): lists split on ``|``, times with an offset, numbers,
URIs, CBV values; each raises ``QueryParameterInvalid`` naming the parameter and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from gs1.cbv import short_name
from gs1.epcis.querymatch import (
    QUANTITY_FIELDS,
    compare,
    parse_time,
    quantities_of,
)
from gs1.errors import QueryParameterInvalid

Descendants = Callable[[str], Iterable[str]]
# event body, record time, WD_ descendants, the stored (hash) id
Test = Callable[[Mapping[str, Any], datetime, Descendants | None, str | None], bool]
Kind = Literal["list", "time", "number", "numbers", "bool", "exists", "count", "text", "ext"]

ORDER_FIELDS = frozenset({"eventTime", "recordTime"})
EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
OPS = ("GT", "GE", "LT", "LE")


class Condition(BaseModel):
    """One checked parameter: its values and its test on an event."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    kind: Kind
    values: tuple[str, ...] = ()  # list parameters, as given (CBV values as bare words)
    moment: datetime | None = None  # time parameters
    number: float | None = None  # numeric bounds
    # Text the event's JSON must contain for the test to hold (an extension field's
    # quoted name): lets a scan skip most bodies without decoding them.
    needle: str | None = None
    test: Test

    def __hash__(self) -> int:  # the test is a closure; the name and values identify it
        return hash((self.name, self.values, self.moment, self.number))


def bad(name: str, reason: str) -> QueryParameterInvalid:
    return QueryParameterInvalid(name, reason)


def split_values(name: str, text: str) -> tuple[str, ...]:
    values = tuple(text.split("|"))
    if any(not v for v in values):
        raise bad(name, f"{text!r} has an empty value; separate values with '|'")
    return values


def time_value(name: str, text: str) -> datetime:
    # A '+' of an offset left unescaped in a URL arrives as a space.
    moment = parse_time(text.replace(" ", "+"))
    if moment is None:
        raise bad(name, f"{text!r} is not an ISO 8601 time with an offset (2024-01-31T12:00:00Z)")
    try:
        moment.astimezone(UTC)  # the store compares in UTC: 0001-01-01T00:00+14:00 has none
    except OverflowError:
        raise bad(
            name, f"{text!r} is outside the years 1 to 9999 in UTC; give a time within them"
        ) from None
    return moment


def number_value(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise bad(name, f"{text!r} is not a number") from None


def uri_values(name: str, values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        if ":" not in value:
            raise bad(name, f"{value!r} is not a URI; give an absolute URI (urn:…, https://…)")
    return values


def cbv_values(
    name: str, vocabulary: Literal["bizStep", "disposition"], text: str
) -> tuple[str, ...]:
    try:
        return tuple(short_name(vocabulary, v) for v in split_values(name, text))
    except ValueError as exc:
        raise bad(name, str(exc)) from exc


def epc_values(name: str, text: str) -> tuple[str, ...]:
    values = uri_values(name, split_values(name, text))
    for value in values:
        if value.startswith("urn:epc:idpat:"):
            fields = value.split(":", 4)[-1].split(".")
            stars = [i for i, f in enumerate(fields) if f == "*"]
            if stars and stars != list(range(stars[0], len(fields))):
                raise bad(name, f"{value!r}: a pattern's '*' fields must be the last ones")
    return values


def text_field(event: Mapping[str, Any], key: str) -> str | None:
    value = event.get(key)
    return value if isinstance(value, str) else None


def location_id(event: Mapping[str, Any], key: str) -> str | None:
    value = event.get(key)
    found = value.get("id") if isinstance(value, Mapping) else None
    return found if isinstance(found, str) else None


def cbv_term(vocabulary: Literal["bizStep", "disposition"], value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return short_name(vocabulary, value)
    except ValueError:
        return value


def error_declaration(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    found = event.get("errorDeclaration")
    return found if isinstance(found, Mapping) else None


def quantity_test(op: str, uom: str | None, wanted: tuple[float, ...]) -> Test:
    def test(e: Mapping[str, Any], r: datetime, d: Descendants | None, i: str | None) -> bool:
        for element in quantities_of(e, QUANTITY_FIELDS):
            if uom is not None and element.get("uom") != uom:
                continue
            if any(compare(element.get("quantity"), op, w) for w in wanted):
                return True
        return False

    return test


def exists_param(get: Callable[[Mapping[str, Any]], bool]) -> Callable[..., Condition]:
    def make(name: str, text: str) -> Condition:
        if text not in ("", "true", "1", "null"):
            raise bad(name, f"{text!r}: EXISTS_ takes no value (or true); leave it empty")
        return Condition(name=name, kind="exists", test=lambda e, r, d, i: get(e))

    return make


def listed_param(
    get: Callable[[Mapping[str, Any]], Iterable[Any]], uri: bool
) -> Callable[..., Condition]:
    """A list parameter that holds when any value ``get`` finds equals a given one."""

    def make(name: str, text: str) -> Condition:
        values = split_values(name, text)
        if uri:
            uri_values(name, values)
        wanted = frozenset(values)
        return Condition(
            name=name,
            kind="list",
            values=values,
            test=lambda e, r, d, i: any(v in wanted for v in get(e) if isinstance(v, str)),
        )

    return make
