"""ECMAScript Number#toString, the number form of RFC 8785, against node itself."""

from __future__ import annotations

import json
import math
import random
import shutil
import struct
import subprocess

import pytest

from ledger.es6number import format_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1e21, "1e+21"),
        (-0.0, "0"),
        (2.0**-1074, "5e-324"),
    ],
)
def test_layout_switches_where_ecmascript_does(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_numbers_agree_with_ecmascript_number_to_string() -> None:
    # The reference is the engine the rule is defined by: node's Number#toString.
    rng = random.Random(8785)
    patterns = [rng.getrandbits(64) for _ in range(3000)]
    values = [struct.unpack(">d", p.to_bytes(8, "big"))[0] for p in patterns]
    finite = [v for v in values if math.isfinite(v)]
    finite += [1e-6, 1e-7, 1e21, 1e21 * (1 - 2**-52), 2.0**-1074, 0.3, 1 / 3]
    hexes = [struct.pack(">d", v).hex() for v in finite]
    script = (
        "const hexes = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "const out = hexes.map(h => Buffer.from(h, 'hex').readDoubleBE(0).toString());"
        "process.stdout.write(JSON.stringify(out));"
    )
    result = subprocess.run(
        ["node", "-e", script], input=json.dumps(hexes), capture_output=True, text=True, check=True
    )
    expected = json.loads(result.stdout)
    mismatches = [
        (h, ours, js)
        for h, v, js in zip(hexes, finite, expected, strict=True)
        if (ours := format_number(v)) != js
    ]
    assert mismatches == []
