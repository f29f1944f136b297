"""GS1 identifiers: GTIN, lot (AI 10), serial (AI 21), SGTIN and SGLN EPC URNs.

Values are frozen and validated at construction; ``parse`` functions raise
``InvalidIdentifier`` naming the identifier and the fix. References: GS1 General
Specifications (check digit, character set 82) and the GS1 EPC Tag Data Standard
(pure-identity URNs ``urn:epc:id:sgtin:…`` and ``urn:epc:id:sgln:…``).
"""

from __future__ import annotations

import re
from typing import ClassVar, Self, cast
from urllib.parse import quote, unquote

from pydantic import BaseModel, ConfigDict, field_validator

from traceability.errors import InvalidIdentifier

GTIN_LENGTHS = (8, 12, 13, 14)
# GS1 company prefix + item/location reference together always take 12 digits
# (13 for SGTIN, which carries the indicator digit in front of the item reference).
_SGTIN_DIGITS = 13
_SGLN_DIGITS = 12
_MIN_PREFIX, _MAX_PREFIX = 6, 12

# GS1 AI encodable character set 82: ! " % & ' ( ) * + , - . / 0-9 : ; < = > ? A-Z _ a-z
_CSET82 = re.compile(r'[!"%-?A-Z_a-z]{1,20}')
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
    company_prefix_length: int

    @field_validator("company_prefix_length")
    @classmethod
    def _valid_prefix(cls, value: int) -> int:
        if not _MIN_PREFIX <= value <= _MAX_PREFIX:
            raise ValueError(
                f"company_prefix_length {value}: a GS1 company prefix has 6 to 12 digits"
            )
        return value

    @classmethod
    def parse(cls, urn: str) -> Sgtin:
        """Parse ``urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial``."""
        prefix = "urn:epc:id:sgtin:"
        company, item, serial_text = _epc_parts(
            "SGTIN", urn, prefix, "ItemRef.Serial", "item reference", _SGTIN_DIGITS,
            "they must total 13 (indicator digit first in the item reference)",
        )  # fmt: skip
        body = item[0] + company + item[1:]
        gtin = Gtin.model_construct(value=body + str(check_digit(body)))
        serial = SerialNumber.parse(unquote(serial_text))
        return cls(gtin=gtin, serial=serial, company_prefix_length=len(company))

    @classmethod
    def of(cls, gtin: Gtin, serial: SerialNumber, company_prefix_length: int) -> Sgtin:
        return cls(gtin=gtin, serial=serial, company_prefix_length=company_prefix_length)

    @property
    def urn(self) -> str:
        digits = self.gtin.value
        cp_end = 1 + self.company_prefix_length
        company = digits[1:cp_end]
        item = digits[0] + digits[cp_end:13]
        return f"urn:epc:id:sgtin:{company}.{item}.{quote(self.serial.value, safe=_URN_SAFE)}"

    def __str__(self) -> str:
        return self.urn


class Sgln(BaseModel):
    """A GS1 location as an EPC URN ``urn:epc:id:sgln:CP.LocationRef.Extension``."""

    model_config = ConfigDict(frozen=True)

    gln: str  # 13 digits, check digit included
    extension: str  # "0" means "no extension" in the URN
    company_prefix_length: int

    @classmethod
    def parse(cls, urn: str) -> Sgln:
        prefix = "urn:epc:id:sgln:"
        company, location, extension = _epc_parts(
            "SGLN", urn, prefix, "LocationRef.Extension", "location reference", _SGLN_DIGITS,
            "they must total 12",
        )  # fmt: skip
        ext = _cset82("SGLN extension", unquote(extension))
        body = company + location
        return cls(
            gln=body + str(check_digit(body)), extension=ext, company_prefix_length=len(company)
        )

    @property
    def urn(self) -> str:
        cp = self.company_prefix_length
        return (
            f"urn:epc:id:sgln:{self.gln[:cp]}.{self.gln[cp:12]}."
            f"{quote(self.extension, safe=_URN_SAFE)}"
        )

    def __str__(self) -> str:
        return self.urn


def _epc_parts(
    kind: str, urn: str, prefix: str, layout: str, ref: str, digits: int, rule: str
) -> tuple[str, str, str]:
    """``CompanyPrefix.Reference.Tail`` of an EPC pure-identity URN, checked: the prefix,
    three parts, digits only in the first two, a 6–12 digit company prefix, and company
    prefix + reference making ``digits`` digits."""
    if not urn.startswith(prefix):
        raise InvalidIdentifier(kind, urn, f"must start with {prefix!r}")
    parts = urn[len(prefix) :].split(".", 2)
    if len(parts) != 3:
        raise InvalidIdentifier(
            kind, urn, f"must have three dot-separated parts: CompanyPrefix.{layout}"
        )
    company, reference, tail = parts
    if not (_DIGITS.fullmatch(company) and _DIGITS.fullmatch(reference or "0")):
        raise InvalidIdentifier(kind, urn, f"company prefix and {ref} must be digits")
    if not _MIN_PREFIX <= len(company) <= _MAX_PREFIX:
        raise InvalidIdentifier(
            kind, urn, f"company prefix has {len(company)} digits; it needs 6 to 12"
        )
    if len(company) + len(reference) != digits:
        raise InvalidIdentifier(
            kind,
            urn,
            f"company prefix + {ref} have {len(company) + len(reference)} digits; {rule}",
        )
    return company, reference, tail
