"""A short coverage-guided run of each atheris target (the optional ``fuzz`` extra).

atheris installs from a wheel on CPython 3.11/Linux x86-64; where it cannot be
installed the hypothesis tests still fuzz every decoder (docs/security.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("target", ["decode", "epc", "opcua"])
def test_atheris_finds_nothing_in_a_short_run(target: str, tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="install the `fuzz` extra to run atheris")
    # A scratch corpus folder so libFuzzer never writes into the repository's corpus.
    seeds = {"decode": "tests/data/gateway/fuzz/decode", "epc": "tests/data/sensors/fuzz/epc"}
    scratch = tmp_path / "corpus"
    scratch.mkdir()
    if target in seeds:
        for seed in (ROOT / seeds[target]).iterdir():
            (scratch / seed.name).write_bytes(seed.read_bytes())
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.atheris_main", target, "-atheris_runs=20000",
         f"-artifact_prefix={tmp_path}/", str(scratch)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert not list(tmp_path.glob("crash-*"))
