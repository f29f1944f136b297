"""QR codes decode (zbarimg, Debian zbar-tools) to the Digital Link they carry; label
sheets carry the human-readable GTIN, lot, serial and expiry; the command writes them."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.events import GTIN
from traceability.records.store import RecordStore
from tracehub.cli import main
from web.qr import Label, decode_matrix, label_sheet, link, qr_png, qr_svg

BASE = "https://trace.example.com"


def zbar(path: Path) -> list[str]:
    done = subprocess.run(
        ["zbarimg", "--quiet", "--raw", str(path)], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_png_decodes_to_the_digital_link(tmp_path: Path) -> None:
    uri = link(BASE, GTIN, "L1", "1001")
    assert uri == f"{BASE}/01/{GTIN}/10/L1/21/1001"
    path = tmp_path / "code.png"
    path.write_bytes(qr_png(uri))
    assert zbar(path) == [uri]


def test_short_gtin_and_escaped_lot_in_the_link() -> None:
    assert link(BASE, "4012345111118", "A/B-1") == f"{BASE}/01/{GTIN}/10/A%2FB-1"


def test_svg_is_a_standalone_svg() -> None:
    svg = qr_svg(link(BASE, GTIN, "L1"))
    assert svg.startswith("<svg")
    assert "<title>" in svg


def test_label_sheet_pages_and_human_readable_text() -> None:
    labels = [
        Label(
            uri=link(BASE, GTIN, "L1", str(s)),
            product="Chilled salmon 200 g",
            gtin=GTIN,
            lot="L1",
            serial=str(s),
            expiry=date(2026, 12, 5),
        )
        for s in range(1001, 1031)
    ]
    pages = label_sheet(labels)
    assert len(pages) == 2  # 24 per A4 page
    assert pages[0].count('class="label"') == 24
    assert pages[1].count('class="label"') == 6
    first = pages[0]
    for text in (f"(01) {GTIN}", "(17) 261205", "(10) L1", "(21) 1001", "EXP 2026-12-05"):
        assert text in first
    assert 'width="210.0mm" height="297.0mm"' in first


def test_labels_carry_the_sites_trust_anchors() -> None:
    trust = f"{BASE}/.well-known/tracehub.json"
    label = Label(
        uri=link(BASE, GTIN, "L1"),
        product="p",
        gtin=GTIN,
        lot="L1",
        expiry=date(2026, 12, 5),
        key="5647 5aa7 5463 474c",
        trust=trust,
    )
    (page,) = label_sheet([label])
    assert "key 5647 5aa7 5463 474c" in page
    assert "trust trace.example.com/.well-known/tracehub.json" in page
    (plain,) = label_sheet([label.model_copy(update={"key": None, "trust": None})])
    assert "key " not in plain
    assert "trust " not in plain


def test_sheet_modules_are_the_codes_matrix() -> None:
    uri = link(BASE, GTIN, "L1")
    (page,) = label_sheet([Label(uri=uri, product="p", gtin=GTIN, lot="L1")])
    dark = sum(sum(row) for row in decode_matrix(uri))
    path = re.search(r'<path d="([^"]+)"', page)
    assert path is not None
    widths = [float(w) for w in re.findall(r"h([0-9.]+)v", path.group(1))]
    unit = 22.0 / len(decode_matrix(uri))
    assert round(sum(widths) / unit) == dark  # every dark module drawn once


@pytest.fixture
def records_url(stocked: RecordStore, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'records.db'}"


def test_qr_command_writes_codes_and_a_sheet(records_url: str, tmp_path: Path) -> None:
    out = tmp_path / "codes"
    sheet = tmp_path / "sheet.svg"
    result = CliRunner().invoke(
        main,
        [
            "qr", "--lot", f"{GTIN}/L1", "--serials", "1001-1003", "--format", "png",
            "--out", str(out), "--sheet", str(sheet), "--base", BASE, "--records", records_url,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.iterdir())
    assert files == [f"{GTIN}-L1-{s}.png" for s in (1001, 1002, 1003)]
    assert zbar(out / f"{GTIN}-L1-1002.png") == [f"{BASE}/01/{GTIN}/10/L1/21/1002"]
    assert "Chilled salmon 200 g" in sheet.read_text()
    assert "EXP 2026-12-05" in sheet.read_text()


def test_qr_command_for_the_lot_as_svg(records_url: str, tmp_path: Path) -> None:
    out = tmp_path / "codes"
    result = CliRunner().invoke(
        main,
        ["qr", "--lot", f"{GTIN}/L1", "--out", str(out), "--base", BASE, "--records", records_url],
    )
    assert result.exit_code == 0, result.output
    assert (out / f"{GTIN}-L1.svg").read_text().startswith("<svg")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lot", "L1"], "give GTIN/LOT"),
        (["--lot", "04012345111119/L1"], "check digit should be 8"),
        (["--lot", f"{GTIN}/L9"], "lot L9 of 04012345111118 is not in the records"),
        (["--lot", f"{GTIN}/L1", "--serials", "9-1"], "the range runs backwards"),
    ],
)
def test_qr_command_rejections_name_the_option(
    records_url: str, tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ["qr", *args, "--out", str(tmp_path / "o"), "--records", records_url]
    )
    assert result.exit_code == 2
    assert message in result.output


def test_qr_command_prints_the_site_key_on_the_sheet(records_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from ledger.signing import short_fingerprint
    from ledger.store.keystore import KeyStore

    state = tmp_path / "state"
    keys = KeyStore.open(state / "ledger-keys", "a long enough test passphrase")
    signer = keys.signer("site:labels", datetime.now(UTC))
    sheet = tmp_path / "sheet.svg"
    env = {
        "TRACEHUB_STATE_DIR": str(state),
        "TRACEHUB_SITE": "labels",
        "TRACEHUB_LEDGER_KEY_PASSPHRASE": "a long enough test passphrase",
    }
    result = CliRunner().invoke(
        main,
        [
            "qr", "--lot", f"{GTIN}/L1", "--out", str(tmp_path / "o"), "--sheet", str(sheet),
            "--base", BASE, "--records", records_url,
        ],
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    short = short_fingerprint(signer.public.public_key)
    assert signer.key_id.removeprefix("ed25519:").startswith(short.replace(" ", ""))
    assert f"key {short}" in sheet.read_text()
    assert "trust trace.example.com/.well-known/tracehub.json" in sheet.read_text()
    assert f"site key {short}, trust document {BASE}/.well-known/tracehub.json" in result.output
