"""``tracehub qr``: QR codes (SVG/PNG) for a lot or a serial range, and label sheets.

The sheet's labels carry the site's trust anchors out of band: the short fingerprint of
the site's current signing key (from its keystore, not the databases) and the address
of its trust document on the resolver the codes point to.
"""

from __future__ import annotations

from pathlib import Path

import click

from gs1.errors import InvalidIdentifier
from gs1.identifiers import Gtin
from ledger.errors import LedgerError
from ledger.signing import short_fingerprint
from ledger.verify.trust import WELL_KNOWN_PATH
from traceability.errors import TraceabilityError
from traceability.records.store import RecordStore
from tracehub.console import Problem, console
from tracehub.settings import Settings
from web.qr import Label, label_sheet, link, qr_png, qr_svg

MAX_UNITS = 10_000
DEFAULT_RESOLVER = "https://id.gs1.org"


def _serials(spec: str) -> list[str]:
    """``1001-1010`` or ``A7,A8`` or a mix (``1001-1003,A7``)."""
    found: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        low, dash, high = part.partition("-")
        if dash and low.isdigit() and high.isdigit():
            if int(high) < int(low):
                raise Problem(f"--serials {part}: the range runs backwards")
            width = len(low) if low.startswith("0") else 0
            found.extend(str(n).zfill(width) for n in range(int(low), int(high) + 1))
        else:
            found.append(part)
        if len(found) > MAX_UNITS:
            raise Problem(f"--serials: more than {MAX_UNITS} units; split the run")
    return found


@click.command()
@click.option("--lot", "lot_spec", required=True, help="GTIN/LOT, e.g. 04012345111118/L1.")
@click.option("--serials", help="Serial range for unit codes, e.g. 1001-1100 or 1001-1003,A7.")
@click.option(
    "--format", "fmt", type=click.Choice(["svg", "png"]), default="svg", show_default=True
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("qr"),
    show_default=True,
    help="Directory for one code per lot or unit.",
)
@click.option(
    "--sheet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write a printable A4 label sheet (SVG; page 2… as NAME-2.svg).",
)
@click.option(
    "--base",
    metavar="URL",
    help="Resolver URL in the code (default TRACEHUB_WEB_PUBLIC_URL, else https://id.gs1.org).",
)
@click.option("--records", metavar="URL", help="Records database (default TRACEHUB_RECORDS_URL).")
@click.pass_obj
def qr(
    settings: Settings,
    lot_spec: str,
    serials: str | None,
    fmt: str,
    out: Path,
    sheet: Path | None,
    base: str | None,
    records: str | None,
) -> None:
    """QR codes carrying the GS1 Digital Link of a lot (or of each unit of a serial run),
    with the product name, GTIN, lot and expiry from the records on the label sheet."""
    gtin_text, slash, lot = lot_spec.partition("/")
    if not slash or not lot:
        raise Problem("--lot: give GTIN/LOT, e.g. 04012345111118/L1")
    try:
        gtin = Gtin.parse(gtin_text).value
    except InvalidIdentifier as exc:
        raise Problem(f"--lot: {exc}") from exc
    try:
        store = RecordStore.open(records or settings.records_url)
    except TraceabilityError as exc:
        raise Problem(f"records database: {exc}") from exc
    try:
        product = store.get_product(gtin)
        record = store.get_lot(gtin, lot)
    finally:
        store.close()
    if product is None or record is None:
        raise Problem(f"--lot: lot {lot} of {gtin} is not in the records; import it first")
    stem = base or settings.web.public_url or DEFAULT_RESOLVER
    key = _site_key(settings)
    # The trust document lives on the site's own resolver, never on GS1's.
    trust = None if stem == DEFAULT_RESOLVER else stem.rstrip("/") + WELL_KNOWN_PATH
    try:
        labels = [
            Label(
                uri=link(stem, gtin, lot, serial),
                product=product.name,
                gtin=gtin,
                lot=lot,
                serial=serial,
                expiry=record.expiry,
                key=key,
                trust=trust,
            )
            for serial in (_serials(serials) if serials else [None])
        ]
    except InvalidIdentifier as exc:
        raise Problem(f"--serials: {exc}") from exc
    out.mkdir(parents=True, exist_ok=True)
    for label in labels:
        name = f"{gtin}-{_safe(lot)}" + (f"-{_safe(label.serial)}" if label.serial else "")
        path = out / f"{name}.{fmt}"
        if fmt == "svg":
            path.write_text(qr_svg(label.uri), encoding="utf-8")
        else:
            path.write_bytes(qr_png(label.uri))
    console.print(f"{len(labels)} code(s) in {out}/ ({fmt}); first: {labels[0].uri}")
    if sheet is not None:
        pages = label_sheet(labels)
        for number, page in enumerate(pages, start=1):
            target = sheet if number == 1 else sheet.with_name(f"{sheet.stem}-{number}.svg")
            target.write_text(page, encoding="utf-8")
        console.print(f"label sheet: {sheet} ({len(pages)} A4 page(s))")
        if key is None:
            console.print("no site signing key yet: the labels carry no key fingerprint")
        else:
            console.print(
                f"site key {key}" + (f", trust document {trust}" if trust else ""),
                soft_wrap=True,
            )


def _site_key(settings: Settings) -> str | None:
    """The short fingerprint of the site's current signing key (None before the first)."""
    if not (settings.ledger_keys_dir / "keyring.json").is_file():
        return None
    from tracehub.keys import open_keystore

    owner = f"site:{settings.hub.site}"
    try:
        current = [
            k
            for k in open_keystore(settings).public_keys()
            if k.owner == owner and k.valid_until is None
        ]
    except LedgerError as exc:
        raise Problem(f"the site's keystore: {exc}") from exc
    return short_fingerprint(current[-1].public_key) if current else None


def _safe(value: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-._" else "_" for ch in value)
