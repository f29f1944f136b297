"""The committed contract artifact is exactly what the pinned solc-js produces."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONTRACTS = ROOT / "ledger" / "evm" / "contracts"
SOLC = ROOT / "node_modules" / "solc" / "package.json"


@pytest.mark.skipif(
    shutil.which("node") is None or not SOLC.is_file(),
    reason="node or node_modules/solc is missing: run `npm ci` to check the artifact",
)
def test_artifact_recompiles_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "TracehubAnchor.json"
    subprocess.run(
        ["node", str(CONTRACTS / "compile.mjs"), "--out", str(out)],
        check=True,
        capture_output=True,
        cwd=tmp_path,  # the build must not depend on the working directory
    )
    assert out.read_bytes() == (CONTRACTS / "TracehubAnchor.json").read_bytes()


def test_artifact_pins_compiler_and_settings() -> None:
    artifact = json.loads((CONTRACTS / "TracehubAnchor.json").read_text())
    assert artifact["compiler"]["version"].startswith("0.8.30+")
    assert artifact["settings"]["optimizer"] == {"enabled": True, "runs": 200}
    assert artifact["settings"]["evmVersion"] == "prague"
    names = {item.get("name") for item in artifact["abi"]}
    assert {"anchor", "anchorOf", "setAnchorer", "Anchored", "AlreadyAnchored"} <= names
    assert artifact["bytecode"].startswith("0x60")
    source = (CONTRACTS / "TracehubAnchor.sol").read_text()
    assert source.startswith("// SPDX-License-Identifier: Apache-2.0\npragma solidity 0.8.30;")
