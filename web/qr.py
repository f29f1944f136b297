"""QR codes for GS1 Digital Link URIs, and printable label sheets.

``qr_svg`` / ``qr_png`` encode one URI (segno, error correction M, 4-module quiet
zone). ``label_sheet`` lays out labels on A4 (SVG, millimetres, 3 × 8): each label has
its QR code and the human-readable text GS1 asks for next to a 2D code — product
name, ``(01) GTIN``, ``(17) expiry YYMMDD``, ``(10) lot`` and ``(21) serial`` — so a
person can read what the code says. A label can also carry the site's trust anchors,
printed out of band from any evidence: the short fingerprint of the site's signing
key (``key …``) and where its trust document is (``trust …/.well-known/tracehub.json``),
so a consumer or auditor can tell whether what ``tracehub verify`` names is this
site's key. Pure: no records, no files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from html import escape

import segno
from pydantic import BaseModel, ConfigDict

from gs1.digitallink import DigitalLink

ERROR_LEVEL = "m"
_A4 = (210.0, 297.0)
_COLUMNS, _ROWS = 3, 8
_MARGIN = 8.0
_QR_MM = 22.0


class Label(BaseModel):
    model_config = ConfigDict(frozen=True)

    uri: str
    product: str
    gtin: str
    lot: str | None = None
    serial: str | None = None
    expiry: date | None = None
    key: str | None = None  # the site key's short fingerprint (``ledger.signing``)
    trust: str | None = None  # the URL of the site's /.well-known/tracehub.json

    @property
    def human(self) -> tuple[str, ...]:
        """The element string as printed under the code, one AI per line."""
        lines = [f"(01) {self.gtin}"]
        if self.expiry is not None:
            lines.append(f"(17) {self.expiry.strftime('%y%m%d')}")
        if self.lot is not None:
            lines.append(f"(10) {self.lot}")
        if self.serial is not None:
            lines.append(f"(21) {self.serial}")
        return tuple(lines)


def link(base: str, gtin: str, lot: str | None = None, serial: str | None = None) -> str:
    """The Digital Link URI on ``base`` (your resolver), checked by ``DigitalLink``."""
    return DigitalLink.of(gtin, lot, serial).format(base)


def qr_svg(uri: str, scale: int = 4) -> str:
    buffer = io.BytesIO()
    segno.make(uri, error=ERROR_LEVEL, micro=False).save(
        buffer, kind="svg", scale=scale, xmldecl=False, title=uri
    )
    return buffer.getvalue().decode("utf-8")


def qr_png(uri: str, scale: int = 8) -> bytes:
    buffer = io.BytesIO()
    segno.make(uri, error=ERROR_LEVEL, micro=False).save(buffer, kind="png", scale=scale)
    return buffer.getvalue()


def decode_matrix(uri: str) -> list[list[bool]]:
    """The module matrix (dark = True) with its quiet zone: what the sheet draws."""
    code = segno.make(uri, error=ERROR_LEVEL, micro=False)
    return [[bool(m) for m in row] for row in code.matrix_iter(border=4)]


def _modules(uri: str, x: float, y: float, size: float) -> str:
    rows = decode_matrix(uri)
    unit = size / len(rows)
    path: list[str] = []
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            run = (c - start) * unit
            path.append(
                f"M{x + start * unit:.3f} {y + r * unit:.3f}h{run:.3f}v{unit:.3f}h{-run:.3f}z"
            )
    return f'<path d="{"".join(path)}" fill="#000"/>'


def _anchor_lines(
    label: Label, x: float, y: float, width: float, height: float, tx: float
) -> list[str]:
    """The key's short fingerprint in the text column; the trust document's address under
    the code, across the label (shrunk to fit: a cut address is no address)."""
    mono = 'font-family="DejaVu Sans Mono, monospace"'
    lines = []
    if label.key is not None:
        lines.append(
            f'<text x="{tx:.2f}" y="{y + height - 3:.2f}" font-size="1.9" {mono}>'
            f"key {escape(label.key)}</text>"
        )
    if label.trust is not None:
        text = "trust " + label.trust.removeprefix("https://").removeprefix("http://")
        size = min(1.9, (width - 2) / (0.6 * len(text)))  # monospace: 0.6 em per character
        lines.append(
            f'<text x="{x + 1:.2f}" y="{y + height - 0.8:.2f}" font-size="{size:.2f}" {mono}>'
            f"{escape(text)}</text>"
        )
    return lines


def label_sheet(labels: Sequence[Label]) -> list[str]:
    """A4 SVG pages of labels (3 columns × 8 rows each)."""
    per_page = _COLUMNS * _ROWS
    width = (_A4[0] - 2 * _MARGIN) / _COLUMNS
    height = (_A4[1] - 2 * _MARGIN) / _ROWS
    pages: list[str] = []
    for first in range(0, len(labels), per_page):
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_A4[0]}mm" height="{_A4[1]}mm" '
            f'viewBox="0 0 {_A4[0]} {_A4[1]}" font-family="DejaVu Sans, Arial, sans-serif">',
            f'<rect width="{_A4[0]}" height="{_A4[1]}" fill="#fff"/>',
        ]
        for i, label in enumerate(labels[first : first + per_page]):
            col, row = i % _COLUMNS, i // _COLUMNS
            x, y = _MARGIN + col * width, _MARGIN + row * height
            parts.append(
                f'<g class="label"><rect x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" '
                f'height="{height:.2f}" fill="none" stroke="#ccc" stroke-width="0.2"/>'
            )
            parts.append(_modules(label.uri, x + 1, y + (height - _QR_MM) / 2, _QR_MM))
            tx = x + _QR_MM + 2
            parts.append(
                f'<text x="{tx:.2f}" y="{y + 7:.2f}" font-size="2.6" font-weight="bold">'
                f"{escape(label.product[:28])}</text>"
            )
            for n, line in enumerate(label.human):
                parts.append(
                    f'<text x="{tx:.2f}" y="{y + 12 + n * 3.6:.2f}" font-size="2.8">'
                    f"{escape(line)}</text>"
                )
            if label.expiry is not None:
                at = y + height - 3 - (3.2 if label.key is not None else 0)
                parts.append(
                    f'<text x="{tx:.2f}" y="{at:.2f}" font-size="2.6">'
                    f"EXP {label.expiry.isoformat()}</text>"
                )
            parts.extend(_anchor_lines(label, x, y, width, height, tx))
            parts.append("</g>")
        parts.append("</svg>")
        pages.append("".join(parts))
    return pages
