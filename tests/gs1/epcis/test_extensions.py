"""Extension names (JSON-LD): which keys each place of an event takes as standard, and
which names an extension may have. Pure: no I/O."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gs1.epcis import extensions
from gs1.epcis.extensions import extension_problem, key_problem

SCHEMA = Path(extensions.__file__).parent / "standards" / "epcis-json-schema.json"


def _enum(definition: str) -> frozenset[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))["definitions"][definition]
    (named,) = [a for a in schema["propertyNames"]["anyOf"] if "enum" in a]
    return frozenset(named["enum"])


@pytest.mark.parametrize(
    ("keys", "definition"),
    [
        (extensions.SENSOR_METADATA_KEYS, "sensorMetadata"),
        (extensions.SENSOR_REPORT_KEYS, "sensorReport"),
        (extensions.SENSOR_ELEMENT_KEYS, "sensorElement"),
        (extensions.ERROR_DECLARATION_KEYS, "errorDeclaration"),
    ],
)
def test_standard_keys_are_the_schemas(keys: frozenset[str], definition: str) -> None:
    assert keys == _enum(definition)


@pytest.mark.parametrize(
    ("key", "prefixes", "valid"),
    [
        ("example:field", {"example": "https://ex.com/"}, True),
        ("example:field", None, True),  # no document: shape only
        ("example:field", {}, False),
        ("gs1:netWeight", {}, True),  # the EPCIS context's own prefixes
        ("cbvmda:lotNumber", {}, True),
        ("https://ex.com/field", {}, True),
        ("urn:ex:field", {}, True),
        ("field", {"field": "https://ex.com/field"}, True),  # a term of the context
        ("field", {}, False),
        ("field", None, False),
        (":field", {}, False),
        ("example:", {"example": "https://ex.com/"}, False),
        ("@id", {}, True),
        (7, {}, False),
    ],
)
def test_key_names(key: Any, prefixes: dict[str, str] | None, valid: bool) -> None:
    assert (key_problem(key, prefixes) is None) == valid


def test_the_first_bad_name_is_named_by_its_path() -> None:
    event = {
        "example:a": {"example:b": [{"example:c": 1}, {"d": 2}]},
        "readPoint": {"id": "urn:epc:id:sgln:4012345.00001.0"},
    }
    found = extension_problem(event, {"example": "https://ex.com/"})
    assert found is not None
    assert found[0] == "example:a.example:b[1].d"


def test_standard_keys_of_each_place_are_not_extensions() -> None:
    event = {
        "readPoint": {"id": "urn:x:1"},
        "errorDeclaration": {"declarationTime": "t", "reason": "r", "correctiveEventIDs": []},
        "sensorElementList": [
            {"sensorMetadata": {"time": "t", "bizRules": "u"}, "sensorReport": [{"value": 1}]}
        ],
        "ilmd": {"example:x": "1"},
    }
    assert extension_problem(event, {"example": "https://ex.com/"}) is None
