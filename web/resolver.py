"""GS1 Digital Link resolution for the pages we serve: which item a path names, and
where a non-canonical path should go.

Served (GTIN-keyed, GS1 Digital Link 1.x uncompressed syntax):

* ``/01/{gtin}``                          the product
* ``/01/{gtin}/10/{lot}``                 a lot (what the QR code on a box carries)
* ``/01/{gtin}/10/{lot}/21/{serial}``     one unit of a lot

Redirected to that canonical form (301): a GTIN-8/12/13 (padded to 14 digits), the
obsolete convenience alphas (``/gtin/…/lot/…/ser/…``) and key qualifiers passed in the
query (``/01/{gtin}?10=L1&21=7``). Other query parameters (``linkType``, ``lang``) are
kept; data attributes such as ``17`` (expiry) are accepted and ignored (the page shows
what the records say), and dropped when redirecting. A unit named without its
lot (``/01/{gtin}/21/{serial}``) is resolved by the caller, which knows the lot.

Pure: no records; the web layer decides 404s for unknown products and lots.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote, unquote, urlencode

from pydantic import BaseModel, ConfigDict

from gs1.digitallink import DigitalLink, escape
from gs1.errors import InvalidIdentifier
from gs1.identifiers import Gtin, LotNumber, SerialNumber

_QUALIFIERS = ("10", "21")


class Target(BaseModel):
    """The item a Digital Link names."""

    model_config = ConfigDict(frozen=True)

    gtin: str
    lot: str | None = None
    serial: str | None = None

    @property
    def path(self) -> str:
        """The canonical path: ``/01/{gtin14}[/10/{lot}][/21/{serial}]``, escaped."""
        path = f"/01/{self.gtin}"
        if self.lot is not None:
            path += f"/10/{escape(self.lot)}"
        if self.serial is not None:
            path += f"/21/{escape(self.serial)}"
        return path

    @property
    def kind(self) -> str:
        return (
            "product"
            if self.lot is None and self.serial is None
            else ("unit" if self.serial is not None else "lot")
        )


class Resolution(BaseModel):
    """``target`` when the path is canonical; ``redirect`` (path + query) when not."""

    model_config = ConfigDict(frozen=True)

    target: Target
    redirect: str | None = None


def resolve(raw_path: str, query: Sequence[tuple[str, str]]) -> Resolution:
    """Resolve ``raw_path`` (still percent-escaped) with its query pairs.

    Raises ``InvalidIdentifier`` naming the problem (bad check digit, no GTIN key …).
    """
    numeric = [(k, v) for k, v in query if k.isdigit()]
    others = [(k, v) for k, v in query if not k.isdigit()]
    moved = [(k, v) for k, v in numeric if k in _QUALIFIERS]
    path = raw_path
    if moved:
        # Qualifiers belong in the path in GS1's order (10 before 21).
        existing = path.split("/")
        for ai in _QUALIFIERS:
            value = next((v for k, v in moved if k == ai), None)
            if value is None:
                continue
            if ai in existing[1::2]:
                raise InvalidIdentifier(
                    "Digital Link", raw_path, f"AI ({ai}) is in both the path and the query"
                )
            if ai == "10" and "21" in existing[1::2]:
                at = existing.index("21")
                existing[at:at] = ["10", quote(value, safe="-._~")]
            else:
                existing += [ai, quote(value, safe="-._~")]
        path = "/".join(existing)
    try:
        link = DigitalLink.parse(
            "https://resolver.invalid" + path, allow_short_gtin=True, allow_alphas=True
        )
    except InvalidIdentifier as exc:
        raise _specific(path) or InvalidIdentifier("Digital Link", raw_path, exc.reason) from exc
    if link.key[0] != "01":
        raise InvalidIdentifier(
            "Digital Link",
            raw_path,
            f"this resolver serves products (AI 01, GTIN); AI ({link.key[0]}) is not served here",
        )
    gtin = link.gtin
    assert gtin is not None  # the key is 01
    target = Target(gtin=gtin, lot=link.lot, serial=link.serial)
    if target.path == raw_path and not moved:
        return Resolution(target=target)
    suffix = f"?{urlencode(others)}" if others else ""
    return Resolution(target=target, redirect=target.path + suffix)


def _specific(path: str) -> InvalidIdentifier | None:
    """The GTIN/lot/serial rule a path breaks, in the words of ``gs1.identifiers``."""
    segments = path.split("/")
    gtin, lot, serial = Gtin.parse, LotNumber.parse, SerialNumber.parse
    parsers = {"01": gtin, "gtin": gtin, "10": lot, "lot": lot, "21": serial, "ser": serial}
    for name, value in zip(segments[1::2], segments[2::2], strict=False):
        parser = parsers.get(name)
        if parser is None:
            continue
        try:
            parser(unquote(value))
        except InvalidIdentifier as exc:
            return exc
    return None
