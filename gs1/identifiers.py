"""GS1 identifiers: the check digit, GTIN, lot (AI 10), serial (AI 21), the SGTIN,
SGLN and SSCC EPC pure-identity URNs and the LGTIN EPC class URN.

This is the one place that computes a GS1 check digit and splits or writes an
SGTIN, SGLN or SSCC URN; the TDS binary codec (``gs1.epc``), Digital Link and the
device messages use it. Values are frozen and validated at construction; ``parse``
functions raise ``InvalidIdentifier`` naming the identifier and the fix. References:
GS1 General Specifications (check digit, character set 82) and the GS1 EPC Tag Data
Standard (``urn:epc:id:sgtin:…``, ``urn:epc:id:sgln:…``, ``urn:epc:id:sscc:…``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, ClassVar, NamedTuple, Self, cast
from urllib.parse import quote, unquote

from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from gs1.ai import CSET82
from gs1.errors import InvalidIdentifier

GTIN_LENGTHS = (8, 12, 13, 14)
_MIN_PREFIX, _MAX_PREFIX = 6, 12

# Lot, serial and SGLN extension: 1 to 20 characters of GS1 AI character set 82.
_CSET82 = re.compile(CSET82 + "{1,20}")
# Characters TDS says must be %-escaped inside an EPC URN component.
_URN_SAFE = "!'()*+,-.:;=_"
_DIGITS = re.compile(r"[0-9]+")


def check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for ``digits`` (the identifier without its check digit).

    Weights 3 and 1 alternate from the rightmost digit, as for every GS1 key.
    """
    if not _DIGITS.fullmatch(digits):
        raise InvalidIdentifier("digits", digits, "must be decimal digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def with_check_digit(digits: str) -> str:
    """``digits`` followed by their check digit (a GTIN, GLN or SSCC body made whole)."""
    return digits + str(check_digit(digits))


def key_of(company_prefix: str, reference: str) -> str:
    """The GTIN-14 or SSCC-18 an EPC names: the reference's first digit (indicator or
    extension) goes in front of the company prefix, and the check digit at the end."""
    return with_check_digit(reference[:1] + company_prefix + reference[1:])


def _prefix_length(value: int) -> int:
    if not _MIN_PREFIX <= value <= _MAX_PREFIX:
        raise ValueError(f"company_prefix_length {value}: a GS1 company prefix has 6 to 12 digits")
    return value


# How many digits of a GS1 key are the company prefix (the key alone does not tell).
CompanyPrefixLength = Annotated[int, AfterValidator(_prefix_length)]


def _cset82(kind: str, value: str) -> str:
    if not _CSET82.fullmatch(value):
        if not value:
            reason = "must not be empty; give 1 to 20 characters"
        elif len(value) > 20:
            reason = f"is {len(value)} characters long; GS1 allows at most 20"
        else:
            bad = sorted({c for c in value if not _CSET82.fullmatch(c)})
            reason = (
                f"contains {''.join(bad)!r}, outside GS1 character set 82 "
                "(letters, digits and !\"%&'()*+,-./:;<=>?_ only)"
            )
        raise InvalidIdentifier(kind, value, reason)
    return value


class Gtin(BaseModel):
    """A Global Trade Item Number, always held as 14 digits (GTIN-8/12/13 are left-padded)."""

    model_config = ConfigDict(frozen=True)

    value: str

    @field_validator("value")
    @classmethod
    def _valid(cls, value: str) -> str:
        return _normalise_gtin(value)

    @classmethod
    def parse(cls, text: str) -> Gtin:
        """Parse a GTIN-8, -12, -13 or -14; raises ``InvalidIdentifier``."""
        return cls.model_construct(value=_normalise_gtin(text))

    @property
    def company_and_item(self) -> str:
        """The 13 digits before the check digit (indicator + prefix + item reference)."""
        return self.value[:13]

    def __str__(self) -> str:
        return self.value


def _normalise_gtin(text: str) -> str:
    if not _DIGITS.fullmatch(text):
        raise InvalidIdentifier("GTIN", text, "must contain decimal digits only")
    if len(text) not in GTIN_LENGTHS:
        raise InvalidIdentifier(
            "GTIN", text, f"has {len(text)} digits; a GTIN has 8, 12, 13 or 14 digits"
        )
    expected = check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise InvalidIdentifier("GTIN", text, f"check digit should be {expected}")
    return text.zfill(14)


class _Cset82Key(BaseModel):
    """1–20 characters of GS1 character set 82; ``kind`` names it in errors."""

    model_config = ConfigDict(frozen=True)
    kind: ClassVar[str]

    value: str

    @field_validator("value")
    @classmethod
    def _valid(cls, value: str) -> str:
        return _cset82(cls.kind, value)

    @classmethod
    def parse(cls, text: str) -> Self:
        # model_construct: _cset82 has checked it, and its InvalidIdentifier must reach
        # the caller as it is, not wrapped in a pydantic ValidationError
        return cast(Self, cls.model_construct(value=_cset82(cls.kind, text)))

    def __str__(self) -> str:
        return self.value


class LotNumber(_Cset82Key):
    """A batch/lot number, GS1 AI (10)."""

    kind: ClassVar[str] = "lot"


class SerialNumber(_Cset82Key):
    """A serial number, GS1 AI (21)."""

    kind: ClassVar[str] = "serial"


class Sgtin(BaseModel):
    """A serialised GTIN as an EPC pure-identity URN ``urn:epc:id:sgtin:CP.IR.Serial``.

    The URN splits the GTIN at the company prefix, which a GTIN alone does not reveal,
    so the prefix length travels with the value.
    """

    model_config = ConfigDict(frozen=True)

    gtin: Gtin
    serial: SerialNumber
    company_prefix_length: CompanyPrefixLength

    @classmethod
    def parse(cls, urn: str) -> Sgtin:
        """Parse ``urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial``."""
        return _sgtin(urn)

    @classmethod
    def of(cls, gtin: Gtin, serial: SerialNumber, company_prefix_length: int) -> Sgtin:
        return cls(gtin=gtin, serial=serial, company_prefix_length=company_prefix_length)

    @property
    def urn(self) -> str:
        digits = self.gtin.value
        cp_end = 1 + self.company_prefix_length
        return sgtin_urn(digits[1:cp_end], digits[0] + digits[cp_end:13], self.serial.value)

    def __str__(self) -> str:
        return self.urn


class Lgtin(BaseModel):
    """A lot of a trade item as an EPC class URN ``urn:epc:class:lgtin:CP.IR.Lot``.

    What EPCIS quantity elements name; the lot is held to AI (10) like every other lot
    (1 to 20 characters of character set 82), so it can key the lot's records and its
    ledger stream whatever the document says.
    """

    model_config = ConfigDict(frozen=True)

    gtin: Gtin
    lot: LotNumber
    company_prefix_length: CompanyPrefixLength

    @classmethod
    def parse(cls, urn: str) -> Lgtin:
        """Parse ``urn:epc:class:lgtin:CompanyPrefix.IndicatorItemRef.Lot``."""
        return _lgtin(urn)

    @property
    def urn(self) -> str:
        digits = self.gtin.value
        cp_end = 1 + self.company_prefix_length
        return _LGTIN.join(digits[1:cp_end], digits[0] + digits[cp_end:13], self.lot.value)

    def __str__(self) -> str:
        return self.urn


class Sgln(BaseModel):
    """A GS1 location as an EPC URN ``urn:epc:id:sgln:CP.LocationRef.Extension``."""

    model_config = ConfigDict(frozen=True)

    gln: str  # 13 digits, check digit included
    extension: str  # "0" means "no extension" in the URN
    company_prefix_length: CompanyPrefixLength

    @classmethod
    def parse(cls, urn: str) -> Sgln:
        return _sgln(urn)

    @property
    def urn(self) -> str:
        cp = self.company_prefix_length
        return _SGLN.join(self.gln[:cp], self.gln[cp:12], self.extension)

    def __str__(self) -> str:
        return self.urn


class Sscc(BaseModel):
    """A Serial Shipping Container Code as an EPC URN ``urn:epc:id:sscc:CP.SerialRef``.

    The serial reference carries the extension digit first; as for the SGTIN, the
    18 digits alone do not tell where the company prefix ends.
    """

    model_config = ConfigDict(frozen=True)

    value: str  # 18 digits, check digit included
    company_prefix_length: CompanyPrefixLength

    @field_validator("value")
    @classmethod
    def _valid(cls, value: str) -> str:
        if not (len(value) == 18 and _DIGITS.fullmatch(value)):
            raise InvalidIdentifier("SSCC", value, "must be 18 decimal digits")
        expected = check_digit(value[:-1])
        if int(value[-1]) != expected:
            raise InvalidIdentifier("SSCC", value, f"check digit should be {expected}")
        return value

    @classmethod
    def parse(cls, urn: str) -> Sscc:
        """Parse ``urn:epc:id:sscc:CompanyPrefix.ExtensionSerialRef``."""
        company, serial_ref, _ = _SSCC.split(urn)
        return cls(value=key_of(company, serial_ref), company_prefix_length=len(company))

    @classmethod
    def of(cls, sscc: str, company_prefix_length: int) -> Sscc:
        """An 18-digit SSCC whose company prefix is ``company_prefix_length`` digits long."""
        return cls(value=sscc, company_prefix_length=company_prefix_length)

    @property
    def urn(self) -> str:
        cp_end = 1 + self.company_prefix_length
        return sscc_urn(self.value[1:cp_end], self.value[0] + self.value[cp_end:17])

    def __str__(self) -> str:
        return self.urn


def sgtin_urn(company_prefix: str, item_ref: str, serial: str) -> str:
    """``urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial``, the serial %-escaped."""
    return _SGTIN.join(company_prefix, item_ref, serial)


def sscc_urn(company_prefix: str, serial_ref: str) -> str:
    """``urn:epc:id:sscc:CompanyPrefix.ExtensionSerialRef``."""
    return _SSCC.join(company_prefix, serial_ref)


# Capture names the same URNs many times over (an event's EPCs are parsed by validation,
# the lot lookup, the EPC links and the event hash): the values are frozen, so a parse is
# kept. A malformed URN raises every time (exceptions are not cached).
_PARSED = 1 << 14


@lru_cache(maxsize=_PARSED)
def _sgtin(urn: str) -> Sgtin:
    company, item, serial_text = _SGTIN.split(urn)
    gtin = Gtin.model_construct(value=key_of(company, item))
    serial = SerialNumber.parse(unquote(serial_text))
    return Sgtin(gtin=gtin, serial=serial, company_prefix_length=len(company))


@lru_cache(maxsize=_PARSED)
def _lgtin(urn: str) -> Lgtin:
    company, item, lot_text = _LGTIN.split(urn)
    gtin = Gtin.model_construct(value=key_of(company, item))
    lot = LotNumber.parse(unquote(lot_text))
    return Lgtin(gtin=gtin, lot=lot, company_prefix_length=len(company))


@lru_cache(maxsize=_PARSED)
def _sgln(urn: str) -> Sgln:
    company, location, extension = _SGLN.split(urn)
    ext = _cset82("SGLN extension", unquote(extension))
    gln = with_check_digit(company + location)
    return Sgln(gln=gln, extension=ext, company_prefix_length=len(company))


class _EpcScheme(NamedTuple):
    """How one EPC pure-identity URN is laid out: ``CompanyPrefix.Reference[.Tail]``,
    company prefix and reference making ``digits`` digits together."""

    kind: str
    prefix: str
    layout: str  # what follows the company prefix, as error messages name it
    ref: str
    digits: int
    rule: str
    tail: bool  # a free third part (serial, extension) follows the reference

    def split(self, urn: str) -> tuple[str, str, str]:
        """Company prefix, reference and tail ("" without one), checked: the prefix, the
        number of parts, digits only in the first two, a 6–12 digit company prefix, and
        company prefix + reference making ``digits`` digits."""
        kind = self.kind
        if not urn.startswith(self.prefix):
            raise InvalidIdentifier(kind, urn, f"must start with {self.prefix!r}")
        count = 3 if self.tail else 2
        parts = urn[len(self.prefix) :].split(".", count - 1)
        if len(parts) != count:
            many = "three" if self.tail else "two"
            raise InvalidIdentifier(
                kind, urn, f"must have {many} dot-separated parts: CompanyPrefix.{self.layout}"
            )
        company, reference = parts[0], parts[1]
        if not (_DIGITS.fullmatch(company) and _DIGITS.fullmatch(reference or "0")):
            raise InvalidIdentifier(kind, urn, f"company prefix and {self.ref} must be digits")
        if not _MIN_PREFIX <= len(company) <= _MAX_PREFIX:
            raise InvalidIdentifier(
                kind, urn, f"company prefix has {len(company)} digits; it needs 6 to 12"
            )
        if len(company) + len(reference) != self.digits:
            raise InvalidIdentifier(
                kind,
                urn,
                f"company prefix + {self.ref} have {len(company) + len(reference)} digits; "
                f"{self.rule}",
            )
        return company, reference, parts[2] if self.tail else ""

    def join(self, company: str, reference: str, tail: str | None = None) -> str:
        body = f"{self.prefix}{company}.{reference}"
        return body if tail is None else f"{body}.{quote(tail, safe=_URN_SAFE)}"


# Company prefix + reference: 13 digits for the SGTIN (the indicator digit leads the
# item reference), 12 for the SGLN, 17 for the SSCC (the extension digit leads).
_SGTIN = _EpcScheme(
    "SGTIN", "urn:epc:id:sgtin:", "ItemRef.Serial", "item reference", 13,
    "they must total 13 (indicator digit first in the item reference)", tail=True,
)  # fmt: skip
_LGTIN = _EpcScheme(
    "LGTIN", "urn:epc:class:lgtin:", "ItemRef.Lot", "item reference", 13,
    "they must total 13 (indicator digit first in the item reference)", tail=True,
)  # fmt: skip
_SGLN = _EpcScheme(
    "SGLN", "urn:epc:id:sgln:", "LocationRef.Extension", "location reference", 12,
    "they must total 12", tail=True,
)  # fmt: skip
_SSCC = _EpcScheme(
    "SSCC", "urn:epc:id:sscc:", "ExtensionSerialRef", "serial reference", 17,
    "they must total 17 (extension digit first in the serial reference)", tail=False,
)  # fmt: skip
