"""The README and docs/ name files and modules that exist: the docs follow the tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PACKAGES = "gs1|influx|sensors|gateway|traceability|ledger|web|grafana|tracehub"
# `gateway/pipeline.py`, `tests/web/`, `ledger/evm/contracts/TracehubAnchor.sol`
PATH = re.compile(rf"`((?:{PACKAGES}|tests|bench|scripts|deploy)/[\w./{{}},-]*)`")
# `ledger.merkle.verify_inclusion`, `traceability.records.store.RecordStore`
DOTTED = re.compile(rf"`((?:{PACKAGES})(?:\.\w+)+)(?![\w/-])")  # not `tracehub.lot-claims/1`
# a bare file name such as `tracehub.css` is not a module path
FILE_SUFFIXES = {"py", "css", "js", "json", "jsonld", "html", "md", "sol", "yaml", "yml", "csv"}


def _module_prefix_exists(dotted: str) -> bool:
    """True when some leading part of ``dotted`` is a module or package of the tree."""
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        base = ROOT.joinpath(*parts[:end])
        if base.with_suffix(".py").is_file() or (base / "__init__.py").is_file():
            return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_named_paths_and_modules_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = [
        p
        for p in (m.group(1).rstrip(".") for m in PATH.finditer(text))
        if "{" not in p and "*" not in p and not (ROOT / p).exists()
    ]
    missing += [
        d
        for d in (m.group(1) for m in DOTTED.finditer(text))
        if d.rsplit(".", 1)[1] not in FILE_SUFFIXES and not _module_prefix_exists(d)
    ]
    assert not missing, f"{doc.name} names what the tree does not have: {missing}"
