"""GS1 Digital Link URIs (uncompressed): parse, format, and EPC URN → canonical Digital Link.

``DigitalLink.parse`` follows the GS1 Digital Link URI syntax as the GS1 syntax engine
checks it: an http(s) URI whose path ends in a primary key (the rightmost one wins, a
custom stem may precede it) followed by that key's qualifiers in their fixed order, and
optional data attributes in the query (``?17=261231``). ``format`` writes the canonical
form (``https://id.gs1.org`` unless a stem is given).

``canonical_identifier`` converts an EPC pure-identity URN (TDS 2.x: sgtin, sscc, sgln,
grai, giai, gsrn, gsrnp, gdti, cpi, sgcn, ginc, gsin, itip, upui, pgln), an EPC class URN
(lgtin), an EPC pattern (idpat) or any Digital Link URI into the *constrained* canonical
Digital Link the EPCIS Event Hash ID uses: domain ``id.gs1.org``, no query, and only the
finest identification level (``/01/g/10/l/21/s`` becomes ``/01/g/21/s``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from urllib.parse import quote, unquote, urlsplit

from pydantic import BaseModel, ConfigDict

from gs1.ai import AI_FORMATS, CHECK_DIGIT_AT, CONVENIENCE_ALPHAS, PRIMARY_KEYS
from gs1.errors import InvalidIdentifier
from gs1.identifiers import check_digit, key_of, with_check_digit

CANONICAL_STEM = "https://id.gs1.org"

# What the EPCIS hash keeps of a key's qualifiers (finest level only).
_HASH_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "01": ("21", "10", "235"),
    "8006": ("21", "10"),
    "414": ("254",),
    "8010": ("8011",),
}
# Unreserved URI characters; GS1 escapes everything else in a path component.
_SAFE = "-._~"
_BAD_URI_CHARS = re.compile(r"[<>{}\\^`\"\s|]")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.\-]*)|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")


def escape(value: str) -> str:
    """Percent-escape a value for a Digital Link path component."""
    return quote(value, safe=_SAFE)


class DigitalLink(BaseModel):
    """A parsed GS1 Digital Link: ``elements`` are (AI, value) pairs, key first.

    Path elements come first (key, then qualifiers in order), then query attributes in
    their order in the URI; values are unescaped.
    """

    model_config = ConfigDict(frozen=True)

    stem: str
    elements: tuple[tuple[str, str], ...]

    @property
    def key(self) -> tuple[str, str]:
        return self.elements[0]

    def get(self, ai: str) -> str | None:
        return next((v for a, v in self.elements if a == ai), None)

    @property
    def gtin(self) -> str | None:
        return self.get("01")

    @property
    def lot(self) -> str | None:
        return self.get("10")

    @property
    def serial(self) -> str | None:
        return self.get("21")

    @property
    def bracketed(self) -> str:
        """The element string in human-readable form: ``(01)09520123456788(10)ABC1``."""
        return "".join(f"({ai}){value}" for ai, value in self.elements)

    def format(self, stem: str | None = None) -> str:
        """The URI with the given stem (default ``https://id.gs1.org``)."""
        base = (stem or CANONICAL_STEM).rstrip("/")
        key_ai = self.elements[0][0]
        path_ais = {key_ai} | {q for seq in PRIMARY_KEYS[key_ai][1] for q in seq}
        path = "".join(f"/{ai}/{escape(v)}" for ai, v in self.elements if ai in path_ais)
        query = "&".join(f"{ai}={escape(v)}" for ai, v in self.elements if ai not in path_ais)
        return base + path + (f"?{query}" if query else "")

    @classmethod
    def of(
        cls,
        gtin: str,
        lot: str | None = None,
        serial: str | None = None,
        *,
        attributes: Mapping[str, str] | None = None,
    ) -> DigitalLink:
        """A GTIN-based link (the consumer QR code): ``/01/{gtin}[/10/{lot}][/21/{serial}]``."""
        elements = [("01", gtin.zfill(14))]
        if lot is not None:
            elements.append(("10", lot))
        if serial is not None:
            elements.append(("21", serial))
        elements.extend((attributes or {}).items())
        for ai, value in elements:
            _check_value("Digital Link", "", ai, value)
        return cls(stem=CANONICAL_STEM, elements=tuple(elements))

    @classmethod
    def parse(
        cls,
        uri: str,
        *,
        allow_short_gtin: bool = False,
        allow_alphas: bool = False,
        check_digits: bool = True,
    ) -> DigitalLink:
        """Parse an uncompressed Digital Link; raises ``InvalidIdentifier`` naming the rule.

        ``allow_short_gtin`` accepts GTIN-8/12/13 in the path (padded to 14 digits),
        ``allow_alphas`` the obsolete convenience alphas (``/gtin/…/ser/…``);
        ``check_digits=False`` skips check-digit validation (the event hash normaliser
        converts what it is given and leaves validation to capture).
        """
        field = "Digital Link"
        if not isinstance(uri, str) or _BAD_URI_CHARS.search(uri):
            raise InvalidIdentifier(
                field, str(uri), "contains characters not allowed in a URI (space, <>{}^`\\)"
            )
        scheme, _, rest = uri.partition("://")
        # The syntax engine takes the scheme all lower or all upper case, not mixed.
        if scheme not in ("http", "https", "HTTP", "HTTPS") or not rest:
            raise InvalidIdentifier(field, uri, "must start with http:// or https://")
        if "%00" in rest:
            raise InvalidIdentifier(field, uri, "must not contain an escaped NUL (%00)")
        parts = urlsplit("https://" + rest)
        host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if not _HOST.fullmatch(host):
            raise InvalidIdentifier(field, uri, f"host {host!r} is not a valid domain name")
        path = parts.path
        if path.endswith("/"):
            raise InvalidIdentifier(field, uri, "must not end with '/'")
        segments = path.split("/")[1:]
        if any(s == "" for s in segments):
            raise InvalidIdentifier(field, uri, "has an empty path segment ('//')")
        elements, start, path_only = _path_elements(
            segments, allow_short_gtin, allow_alphas, check_digits, uri
        )
        stem_path = "/".join(segments[:start])
        stem = f"{scheme.lower()}://{host}" + (f"/{stem_path}" if stem_path else "")
        seen = {ai for ai, _ in elements}
        for pair in parts.query.split("&") if parts.query else ():
            name, eq, raw = pair.partition("=")
            if not eq or not name.isdigit():
                continue  # GS1: unknown non-numeric parameters and singletons are ignored
            if not raw:
                raise InvalidIdentifier(field, uri, f"query attribute {name} has no value")
            if "+" in raw:
                raise InvalidIdentifier(
                    field, uri, f"query attribute {name}: '+' means a space, not allowed in AIs"
                )
            if name not in AI_FORMATS:
                raise InvalidIdentifier(field, uri, f"AI ({name}) is unknown")
            if name in seen or name in path_only:
                raise InvalidIdentifier(
                    field, uri, f"AI ({name}) repeats or belongs in the path, not the query"
                )
            value = unquote(raw)
            if name == "01" and allow_short_gtin:
                value = value.zfill(14)
            _check_value(field, uri, name, value, check_digits)
            seen.add(name)
            elements.append((name, value))
        return cls(stem=stem, elements=tuple(elements))


def _path_elements(
    segments: list[str], allow_short_gtin: bool, allow_alphas: bool, check_digits: bool, uri: str
) -> tuple[list[tuple[str, str]], int, set[str]]:
    """Find the rightmost primary key whose qualifiers follow in order; parse from there."""
    names = [(CONVENIENCE_ALPHAS.get(s, s) if allow_alphas else s) for s in segments]
    # A key is followed by at most _MAX_QUALIFIERS (AI, value) pairs in order, so only
    # the last few segments can start it: looking further left (and rebuilding the
    # pairs to the end each time) made a 16,000-segment path take 55 s.
    first = max(len(segments) - 2 * (1 + _MAX_QUALIFIERS), 0)
    for start in range(len(segments) - 2, first - 1, -1):
        key = names[start]
        if key not in PRIMARY_KEYS or (len(segments) - start) % 2:
            continue
        pairs = [(names[i], unquote(segments[i + 1])) for i in range(start, len(segments), 2)]
        qualifiers = [ai for ai, _ in pairs[1:]]
        sequences = [seq for seq in PRIMARY_KEYS[key][1] if _in_order(qualifiers, seq)]
        if qualifiers and not sequences:
            continue
        # The key's qualifiers (of the sequence in use) may not move into the query.
        path_only = {ai for seq in sequences for ai in seq}
        elements: list[tuple[str, str]] = []
        for ai, value in pairs:
            if ai == "01" and allow_short_gtin and value.isdigit() and len(value) in (8, 12, 13):
                value = value.zfill(14)
            _check_value("Digital Link", uri, ai, value, check_digits)
            elements.append((ai, value))
        return elements, start, path_only
    raise InvalidIdentifier(
        "Digital Link",
        uri,
        "has no GS1 primary key in its path; use e.g. https://id.gs1.org/01/09520123456788",
    )


_MAX_QUALIFIERS = max(len(seq) for _, sequences in PRIMARY_KEYS.values() for seq in sequences)


def _in_order(qualifiers: list[str], sequence: tuple[str, ...]) -> bool:
    position = -1
    for ai in qualifiers:
        if ai not in sequence or sequence.index(ai) <= position:
            return False
        position = sequence.index(ai)
    return True


def _check_value(field: str, uri: str, ai: str, value: str, check_digits: bool = True) -> None:
    pattern = AI_FORMATS.get(ai)
    if pattern is None:
        raise InvalidIdentifier(field, uri, f"AI ({ai}) is unknown")
    if "\x00" in value or not re.fullmatch(pattern, value):
        raise InvalidIdentifier(
            field, uri, f"AI ({ai}) value {value!r} does not match its GS1 format"
        )
    length = CHECK_DIGIT_AT.get(ai)
    if length is not None and check_digits:
        digits = value[:length]
        expected = check_digit(digits[:-1])
        if int(digits[-1]) != expected:
            raise InvalidIdentifier(
                field, uri, f"AI ({ai}) {digits}: check digit should be {expected}"
            )


# --- EPC URN → canonical Digital Link (for the EPCIS Event Hash ID) --------------------

_EPC = re.compile(r"urn:epc:(?P<kind>id|class|idpat):(?P<scheme>[a-z]+):(?P<body>.+)")


def _hash_escape(value: str) -> str:
    # The reference hash implementation keeps the apostrophe as it is.
    return quote(unquote(value), safe="'" + _SAFE)


def _epc_to_link(kind: str, scheme: str, body: str) -> str | None:
    parts = body.split(".")
    if kind == "idpat":
        parts = [p for p in parts if p != "*"]
    cp = parts[0] if parts else ""
    if not cp.isdigit():
        return None
    if scheme in ("sgtin", "upui", "lgtin") or (scheme == "itip"):
        if len(parts) < 2 or not parts[1].isdigit() or len(cp) + len(parts[1]) != 13:
            return None
        ir = parts[1]
        gtin = key_of(cp, ir)
        rest = parts[2:]
        if scheme == "itip":
            if len(rest) < 2:
                return None
            piece, total = rest[0], rest[1]
            base = f"/8006/{gtin}{piece}{total}"
            return base + (f"/21/{_hash_escape('.'.join(rest[2:]))}" if rest[2:] else "")
        if not rest:
            return f"/01/{gtin}"
        value = _hash_escape(".".join(rest))
        qualifier = {"sgtin": "21", "upui": "235", "lgtin": "10"}[scheme]
        return f"/01/{gtin}/{qualifier}/{value}"
    if scheme == "sscc" and len(parts) == 2:
        sr = parts[1]
        return f"/00/{key_of(cp, sr)}" if len(cp) + len(sr) == 17 else None
    if scheme == "sgln" and len(parts) == 3:
        gln = with_check_digit(cp + parts[1])
        ext = parts[2]
        return f"/414/{gln}" + ("" if ext == "0" else f"/254/{_hash_escape(ext)}")
    if scheme in ("pgln", "gsrn", "gsrnp", "gsin") and len(parts) == 2:
        ai = {"pgln": "417", "gsrn": "8018", "gsrnp": "8017", "gsin": "402"}[scheme]
        return f"/{ai}/{with_check_digit(cp + parts[1])}"
    if scheme == "grai" and len(parts) >= 2:
        serial = _hash_escape(".".join(parts[2:]))
        return f"/8003/{with_check_digit('0' + cp + parts[1])}{serial}"
    if scheme in ("gdti", "sgcn") and len(parts) >= 2:
        ai = "253" if scheme == "gdti" else "255"
        serial = _hash_escape(".".join(parts[2:]))
        return f"/{ai}/{with_check_digit(cp + parts[1])}{serial}"
    if scheme in ("giai", "ginc") and len(parts) >= 2:
        ai = "8004" if scheme == "giai" else "401"
        return f"/{ai}/{cp}{_hash_escape('.'.join(parts[1:]))}"
    if scheme == "cpi" and len(parts) >= 2:
        base = f"/8010/{cp}{_hash_escape(parts[1])}"
        return base + (f"/8011/{'.'.join(parts[2:])}" if parts[2:] else "")
    return None


def canonical_identifier(value: object) -> str | None:
    """The constrained canonical Digital Link of an EPC URN or Digital Link, else None."""
    if not isinstance(value, str):
        return None
    return _canonical(value)


# The event hash asks this of every string of an event, the same EPCs and locations over
# and over: a pure function of the text, so its answers are kept (bounded).
@lru_cache(maxsize=1 << 14)
def _canonical(value: str) -> str | None:
    text = value.strip()
    match = _EPC.fullmatch(text)
    if match:
        path = _epc_to_link(match["kind"], match["scheme"], match["body"])
        return None if path is None else CANONICAL_STEM + path
    if not text.lower().startswith(("http://", "https://")):
        return None
    try:
        link = DigitalLink.parse(text, allow_short_gtin=True, allow_alphas=True, check_digits=False)
    except InvalidIdentifier:
        return None
    key_ai, key_value = link.key
    keep = _HASH_QUALIFIERS.get(key_ai, ())
    path = f"/{key_ai}/{_hash_escape(key_value)}"
    for ai in keep:
        qualifier = link.get(ai)
        if qualifier is not None:
            path += f"/{ai}/{_hash_escape(qualifier)}"
            if key_ai != "8010":
                break
    return CANONICAL_STEM + path
