"""Bounded JSON: a request body parsed in linear time, refusing what would cost more.

``json.loads`` alone takes literals whose conversion is slow or lossy: a 30,000-digit
integer (``int()`` of it is quadratic; Python's 4,300-digit guard fires only after the
scan), ``1e400`` (read as infinity), ``NaN``/``Infinity`` (not JSON at all), strings of
megabytes, nesting as deep as the C recursion limit, lone surrogates (``"\\ud800"``, a
``str`` no encoder writes back). ``read_json`` refuses each with ``JsonRefused`` naming
the JSON path and the limit. The scan is the C decoder's; the hooks see each number
literal before it is converted, and one iterative walk afterwards checks strings and
depth, so the work is linear in the body and the body is bounded by ``web.limits``.
orjson reads the body once before that, as a guard against deep nesting (see
``read_json``): its scan is linear and ~5x faster than the one that follows.

The capture API and the ``/rpc`` bridge read their bodies through it.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field

from web.errors import JsonRefused

_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonLimits(BaseModel):
    """What one JSON body may hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Containers inside containers; EPCIS events nest ~6 deep (sensor reports, ILMD).
    max_depth: int = Field(default=32, ge=1, le=500)
    # Characters of one string or object key (URIs, ILMD text, sensor string values).
    max_string: int = Field(default=8192, ge=1)
    # Characters of one number literal: a double needs 24, a 64-bit integer 20.
    max_number: int = Field(default=40, ge=1, le=1000)


def read_json(raw: bytes | str, limits: JsonLimits | None = None) -> Any:
    """The JSON value of ``raw``; raises ``JsonRefused`` naming what broke which limit."""
    bounds = limits or JsonLimits()

    def number(text: str) -> None:
        if len(text) > bounds.max_number:
            raise JsonRefused(
                "",
                f"a number literal of {len(text)} characters ({text[:12]}…) exceeds the "
                f"limit of {bounds.max_number}; send the value as a shorter number",
            )

    def parse_int(text: str) -> int:
        number(text)
        return int(text)

    def parse_float(text: str) -> float:
        number(text)
        value = float(text)
        if not math.isfinite(value):
            raise JsonRefused("", f"the number {text} is outside the range of a double")
        return value

    def parse_constant(text: str) -> Any:
        raise JsonRefused("", f"{text} is not JSON; send a number or null")

    # orjson first, as a guard: it stops at 1,024 levels of nesting. json.loads recurses
    # in C per level, and py-evm raises Python's recursion limit to 100,000 at import:
    # a body of 100,000 "[" crashed the process (a segfault in the worker thread).
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise JsonRefused("", _orjson_reason(str(exc), bounds)) from exc
    # Then the exact values (orjson reads big integers as doubles, which would change
    # what the sender signed for), each literal seen by the hooks before conversion.
    try:
        value = json.loads(
            raw, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant
        )
    except JsonRefused:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise JsonRefused("", f"is not JSON: {exc}") from exc
    check_tree(value, bounds)
    return value


def _orjson_reason(message: str, limits: JsonLimits) -> str:
    if message.startswith("depth limit exceeded"):
        return f"nests deeper than {limits.max_depth} levels; flatten the document"
    if message.startswith("number is infinity"):
        return (
            f"a number outside the range of a double ({message.partition(': ')[2]}); "
            "send it as a number within range"
        )
    return f"is not JSON: {message}"


def check_tree(value: Any, limits: JsonLimits) -> None:
    """Depth, string and key lengths, and valid Unicode of a parsed JSON value."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(value, 1, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, str):
            _check_string(node, path, limits)
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > limits.max_depth:
            raise JsonRefused(
                json_path(path), f"nests deeper than {limits.max_depth} levels; flatten it"
            )
        if isinstance(node, dict):
            for key, item in node.items():
                _check_string(key, (*path, key), limits, what="key")
                stack.append((item, depth + 1, (*path, key)))
        else:
            stack.extend((item, depth + 1, (*path, i)) for i, item in enumerate(node))


def _check_string(
    text: str, path: tuple[str | int, ...], limits: JsonLimits, what: str = "string"
) -> None:
    if len(text) > limits.max_string:
        shown = json_path((*path[:-1], "…")) if what == "key" else json_path(path)
        raise JsonRefused(
            shown,
            f"a {what} of {len(text)} characters exceeds the limit of {limits.max_string}",
        )
    if _SURROGATE.search(text):
        raise JsonRefused(json_path(path), f"the {what} holds a lone UTF-16 surrogate")


def json_path(path: tuple[str | int, ...]) -> str:
    """``("epcisBody", "eventList", 3, "epcList")`` → ``epcisBody.eventList[3].epcList``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
