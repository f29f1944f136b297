"""The layout rules (DESIGN.md "Layout") hold, and breaking one makes `lint-imports` fail.

The contracts live in pyproject.toml (``[tool.importlinter]``); ``make test`` runs them, and
these tests prove they can fail: each plants one forbidden import, at function level, in a
copy of the tree.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    *("gs1", "influx", "ledger", "grafana", "sensors"),
    *("gateway", "traceability", "web", "tracehub", "supervision"),
)
LINT = Path(sys.executable).with_name("lint-imports")


def lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT), "--config", str(cwd / "pyproject.toml"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout[-4000:]
    assert ", 0 broken." in result.stdout


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(
            ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.json")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def plant(module: Path, statement: str) -> None:
    """Put ``statement`` in a new function at the end of ``module`` (a function-level import)."""
    text = module.read_text()
    ast.parse(text)
    module.write_text(text + f"\n\ndef _planted() -> None:\n    {statement}  # noqa\n")


@pytest.mark.parametrize(
    ("module", "statement", "named"),
    [
        # a leaf reaching up
        ("gs1/cbv.py", "import traceability.custody", "gs1 is not allowed to import traceability"),
        # gateway and traceability are independent
        (
            "traceability/custody.py",
            "import gateway.pipeline",
            "traceability is not allowed to import gateway",
        ),
        # web never reaches the devices
        ("web/chart.py", "import sensors.topics", "web imports only traceability, ledger and gs1"),
        # only tracehub wires
        ("web/linkset.py", "import tracehub.settings", "web is not allowed to import tracehub"),
        # sensors stands on gs1 alone
        ("sensors/topics.py", "import ledger.merkle", "sensors imports only gs1"),
        # a cycle between siblings: merkle is imported by entry
        ("ledger/merkle.py", "import ledger.entry", "No cycles are allowed in ledger"),
    ],
)
def test_a_broken_rule_fails_and_is_named(
    tree: Path, module: str, statement: str, named: str
) -> None:
    assert lint(tree).returncode == 0
    plant(tree / module, statement)
    result = lint(tree)
    assert result.returncode != 0
    assert named in " ".join(result.stdout.split())


def _product_files(pattern: str) -> list[Path]:
    return sorted(p for name in PACKAGES for p in (ROOT / name).rglob(pattern))


def test_every_package_maps_itself_in_its_docstring() -> None:
    bare = [
        str(p.relative_to(ROOT))
        for p in _product_files("__init__.py")
        if not ast.get_docstring(ast.parse(p.read_text()))
    ]
    assert not bare, f"packages without a docstring that maps them: {bare}"


def test_no_product_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in _product_files("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not long, f"split these by concept: {long}"
