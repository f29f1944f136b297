"""Digital Link resolution: canonical paths pass, others redirect, bad ones are named."""

from __future__ import annotations

import pytest

from gs1.errors import InvalidIdentifier
from web.resolver import Target, resolve

GTIN = "04012345111118"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        (f"/01/{GTIN}", Target(gtin=GTIN)),
        (f"/01/{GTIN}/10/L1", Target(gtin=GTIN, lot="L1")),
        (f"/01/{GTIN}/10/L1/21/7", Target(gtin=GTIN, lot="L1", serial="7")),
        (f"/01/{GTIN}/10/A%2FB", Target(gtin=GTIN, lot="A/B")),
        (f"/01/{GTIN}/21/7", Target(gtin=GTIN, serial="7")),
    ],
)
def test_canonical_paths_resolve_without_redirect(path: str, target: Target) -> None:
    found = resolve(path, [("lang", "en"), ("17", "261205")])  # data attributes are kept
    assert found.target == target
    assert found.redirect is None
    assert target.path == path


@pytest.mark.parametrize(
    ("path", "query", "redirect"),
    [
        ("/01/4012345111118/10/L1", [], f"/01/{GTIN}/10/L1"),
        (f"/01/{GTIN[1:]}", [], f"/01/{GTIN}"),
        (f"/01/{GTIN}", [("10", "L1"), ("linkType", "all")], f"/01/{GTIN}/10/L1?linkType=all"),
        (f"/01/{GTIN}", [("21", "7"), ("10", "L1")], f"/01/{GTIN}/10/L1/21/7"),
        (f"/01/{GTIN}/21/7", [("10", "L1")], f"/01/{GTIN}/10/L1/21/7"),
        (f"/gtin/{GTIN}/lot/L1/ser/7", [], f"/01/{GTIN}/10/L1/21/7"),
        (f"/01/{GTIN}", [("10", "A/B")], f"/01/{GTIN}/10/A%2FB"),
    ],
)
def test_non_canonical_forms_redirect(
    path: str, query: list[tuple[str, str]], redirect: str
) -> None:
    assert resolve(path, query).redirect == redirect


@pytest.mark.parametrize(
    ("path", "query", "message"),
    [
        ("/01/04012345111119", [], "GTIN 04012345111119: check digit should be 8"),
        (f"/01/{GTIN}/10/L%231", [], "lot L#1: contains '#'"),
        (f"/01/{GTIN}/10/L1", [("10", "L2")], "AI (10) is in both the path and the query"),
        ("/00/106141412345678908", [], "AI (00) is not served here"),
        ("/foo/bar", [], "has no GS1 primary key in its path"),
        (f"/01/{GTIN}/10/L1/21/" + "x" * 21, [], "serial"),
    ],
)
def test_bad_links_name_the_problem(path: str, query: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        resolve(path, query)
    assert message in str(caught.value)


def test_target_kinds() -> None:
    assert Target(gtin=GTIN).kind == "product"
    assert Target(gtin=GTIN, lot="L1").kind == "lot"
    assert Target(gtin=GTIN, lot="L1", serial="1").kind == "unit"
