"""pyproject.toml declares what the product code imports, and imports what it declares."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = (
    *("gs1", "influx", "ledger", "grafana", "sensors", "notify"),
    *("gateway", "traceability", "web", "tracehub", "supervision"),
)
# Declared for what they do at run time, never imported by name: uvicorn loads uvloop and
# httptools by itself; SQLAlchemy loads the psycopg driver from a postgresql+psycopg URL.
LOADED_BY_OTHERS = {"uvloop", "httptools", "psycopg"}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group(0).lower().replace("_", "-")


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {_name(r) for r in project["dependencies"]}
    # the grafana extra is product code (grafana/client.py); fuzz and dev serve the tests
    names |= {_name(r) for r in project["optional-dependencies"]["grafana"]}
    return names


def imported() -> set[str]:
    """Third-party distributions imported anywhere in the product code (any nesting level)."""
    top: set[str] = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    top |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    top.add(node.module.split(".")[0])
    third_party = top - set(sys.stdlib_module_names) - set(PRODUCT)
    dists = packages_distributions()
    missing = sorted(m for m in third_party if m not in dists)
    assert not missing, f"imported but not installed: {missing}"
    return {d.lower().replace("_", "-") for m in third_party for d in dists[m]}


def test_every_imported_distribution_is_declared() -> None:
    undeclared = imported() - declared()
    assert not undeclared, f"imported but not in pyproject.toml: {sorted(undeclared)}"


def test_every_declared_distribution_is_imported() -> None:
    unused = declared() - imported() - LOADED_BY_OTHERS
    assert not unused, f"declared in pyproject.toml but never imported: {sorted(unused)}"
