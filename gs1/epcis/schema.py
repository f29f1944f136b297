"""Validate EPCIS 2.0 events and documents against GS1's official JSON Schema (draft-07).

The schema ships with the package (gs1/epcis/standards/); nothing is fetched. Errors
come back as ``(json_path, message)`` pairs, the path relative to the event.

Two validators, one verdict: each event type's schema is compiled once to Python by
``fastjsonschema`` (~0.2 ms per event where ``jsonschema`` takes ~4 ms), and only an
event it rejects goes through ``jsonschema``, which lists every violation with its path.
``jsonschema`` has the last word: an event it finds valid is valid (formats are checked
by neither, as ``Draft7Validator`` does not check them by default).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft7Validator

_SCHEMA = Path(__file__).parent / "standards" / "epcis-json-schema.json"
EVENT_TYPES = (
    "ObjectEvent",
    "AggregationEvent",
    "TransactionEvent",
    "TransformationEvent",
    "AssociationEvent",
)


@cache
def _schema() -> dict[str, Any]:
    value: dict[str, Any] = json.loads(_SCHEMA.read_text(encoding="utf-8"))
    return value


@cache
def _validator(ref: str) -> Draft7Validator:
    schema = _schema()
    return Draft7Validator(
        {"$schema": schema["$schema"], "definitions": schema["definitions"], "$ref": ref}
    )


@cache
def _compiled(kind: str) -> Callable[[Any], Any]:
    schema = _schema()
    validate: Callable[[Any], Any] = fastjsonschema.compile(
        {
            "$schema": schema["$schema"],
            "definitions": schema["definitions"],
            "$ref": f"#/definitions/{kind}",
        },
        use_formats=False,
        use_default=False,  # never write into the caller's event
        detailed_exceptions=False,
    )
    return validate


def event_is_valid(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` passes its type's schema: the fast path of ``event_errors``."""
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        return False
    try:
        _compiled(kind)(event if isinstance(event, dict) else dict(event))
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@cache
def document_validator() -> Draft7Validator:
    return Draft7Validator(_schema())


def event_errors(event: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Schema violations of one event (its ``type`` picks the event schema)."""
    kind = event.get("type")
    if kind not in EVENT_TYPES:
        return [("type", f"{kind!r} is not an EPCIS 2.0 event type; use one of {EVENT_TYPES}")]
    if event_is_valid(event):
        return []
    errors = sorted(
        _validator(f"#/definitions/{kind}").iter_errors(dict(event)),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    return [(_path(e.absolute_path) or "event", _message(e.message)) for e in errors]


def document_errors(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Schema violations of a whole EPCISDocument (for output checks and tests)."""
    errors = document_validator().iter_errors(dict(document))
    return [(_path(e.absolute_path) or "document", _message(e.message)) for e in errors]


def _path(parts: Any) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _message(text: str) -> str:
    # jsonschema repeats whole sub-documents in anyOf messages; keep the first line short.
    return text if len(text) <= 300 else text[:297] + "..."
