"""GS1 Digital Link parse/format against gs1-syntax-engine's cases, and the EPC → DL
normalisation against the event-hash reference implementation's cases."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from gs1.digitallink import DigitalLink, canonical_identifier, escape
from gs1.errors import InvalidIdentifier

DATA = Path(__file__).parent.parent / "data" / "gs1"
DL = json.loads((DATA / "gs1-syntax-engine-dl-cases.json").read_text())
NORMALISE = json.loads((DATA / "identifier-normalisation-cases.json").read_text())["cases"]
# Unknown AIs are outside what tracehub accepts (the engine needs an option for them).
PARSE = [c for c in DL["parse_uri_cases"] if not (c.get("options") or {}).get("permitUnknownAIs")]


def _options(case: dict[str, Any]) -> dict[str, bool]:
    options = case.get("options") or {}
    return {
        "allow_short_gtin": bool(options.get("permitZeroSuppressedGTINinDLuris")),
        "allow_alphas": bool(options.get("permitConvenienceAlphas")),
    }


@pytest.mark.parametrize("case", PARSE, ids=lambda c: f"line{c['line']}")
def test_parse_cases(case: dict[str, Any]) -> None:
    if case["valid"]:
        link = DigitalLink.parse(case["uri"], **_options(case))
        assert link.bracketed == case["bracketed"]
    else:
        with pytest.raises(InvalidIdentifier, match="Digital Link"):
            DigitalLink.parse(case["uri"], **_options(case))


def test_enough_cases() -> None:
    assert len(PARSE) > 100


@pytest.mark.parametrize("case", DL["percent_escape_cases"], ids=lambda c: f"line{c['line']}")
def test_escape_cases(case: dict[str, Any]) -> None:
    assert escape(case["input"]) == case["path_component"]


GENERATE = [
    c
    for c in DL["generate_uri_cases"]
    if c["valid"] and c.get("line") in (2155, 2156, 2157, 2158, 2168, 2175)
]


@pytest.mark.parametrize("case", GENERATE, ids=lambda c: f"line{c['line']}")
def test_generate_cases(case: dict[str, Any]) -> None:
    # Parse the expected URI back and write it again with the case's stem.
    link = DigitalLink.parse(case["expected_uri"])
    assert link.format(case["stem"]) == case["expected_uri"]


def test_format_round_trip_with_canonical_stem() -> None:
    link = DigitalLink.of("4012345111118", "L1/2+", "1001", attributes={"17": "261231"})
    uri = link.format()
    assert uri == "https://id.gs1.org/01/04012345111118/10/L1%2F2%2B/21/1001?17=261231"
    assert DigitalLink.parse(uri) == link


def test_parse_reads_lot_serial_and_expiry() -> None:
    link = DigitalLink.parse("https://id.gs1.org/01/09520123456788/10/ABC1/21/12345?17=180426")
    assert (link.gtin, link.lot, link.serial, link.get("17")) == (
        "09520123456788",
        "ABC1",
        "12345",
        "180426",
    )
    assert link.stem == "https://id.gs1.org"


@pytest.mark.parametrize(
    ("uri", "rule"),
    [
        ("https://id.gs1.org/01/09520123456789", "check digit should be 8"),
        ("https://id.gs1.org/01/09520123456788/10/", "must not end with '/'"),
        ("ftp://id.gs1.org/01/09520123456788", "http:// or https://"),
        ("https://id.gs1.org/xx/1", "no GS1 primary key"),
    ],
)
def test_malformed_link_names_the_rule(uri: str, rule: str) -> None:
    with pytest.raises(InvalidIdentifier, match=rule):
        DigitalLink.parse(uri)


@pytest.mark.parametrize("case", NORMALISE, ids=lambda c: f"line{c['line']}")
def test_hash_normalisation(case: dict[str, Any]) -> None:
    assert canonical_identifier(case["input"]) == case["expected"]


@pytest.mark.parametrize("count", [1_000, 100_000])
def test_parsing_is_linear_in_path_segments(count: int) -> None:
    # Every other segment a primary key, none with a valid tail: each was once tried
    # as the key, its pairs rebuilt to the end (16,000 segments took 55 s).
    uri = "https://id.gs1.org" + "/01/09520123456788" * count + "/zz/1"
    began = time.perf_counter()
    with pytest.raises(InvalidIdentifier, match="no GS1 primary key"):
        DigitalLink.parse(uri)
    assert canonical_identifier(uri) is None
    assert time.perf_counter() - began < 0.05 * count / 1_000 + 0.2


def test_the_key_window_still_finds_the_rightmost_key_with_all_its_qualifiers() -> None:
    link = DigitalLink.parse("https://e.com/01/x/01/09520123456788/22/A/10/B/21/C")
    assert link.elements == (("01", "09520123456788"), ("22", "A"), ("10", "B"), ("21", "C"))
    assert link.stem == "https://e.com/01/x"
