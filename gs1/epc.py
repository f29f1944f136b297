"""GS1 Tag Data Standard: SGTIN-96 and SSCC-96 binary encodings (decode and encode).

Layouts and partition tables follow GS1 TDT 2.2 (``SGTIN-96.json``, ``SSCC-96.json``):
an 8-bit header, a 3-bit filter, a 3-bit partition that splits the next bits between the
GS1 Company Prefix and the item reference (SGTIN) or serial reference (SSCC), then a
38-bit serial (SGTIN) or 24 reserved zero bits (SSCC). Anything outside the tables is an
EpcError: nothing is guessed.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gs1.errors import EpcError
from gs1.identifiers import key_of, sgtin_urn, sscc_urn

SGTIN96_HEADER = 0x30
SSCC96_HEADER = 0x31
MAX_SGTIN_SERIAL = 2**38 - 1  # 274877906943, the TDT decimalMaximum


class Partition(NamedTuple):
    prefix_bits: int
    prefix_digits: int
    ref_bits: int
    ref_digits: int


# partition value -> split; index = partition value (TDT option keys 12 .. 6).
SGTIN96_PARTITIONS: tuple[Partition, ...] = (
    Partition(40, 12, 4, 1),
    Partition(37, 11, 7, 2),
    Partition(34, 10, 10, 3),
    Partition(30, 9, 14, 4),
    Partition(27, 8, 17, 5),
    Partition(24, 7, 20, 6),
    Partition(20, 6, 24, 7),
)
SSCC96_PARTITIONS: tuple[Partition, ...] = (
    Partition(40, 12, 18, 5),
    Partition(37, 11, 21, 6),
    Partition(34, 10, 24, 7),
    Partition(30, 9, 28, 8),
    Partition(27, 8, 31, 9),
    Partition(24, 7, 34, 10),
    Partition(20, 6, 38, 11),
)

_HEX_RE = re.compile(r"^[0-9A-Fa-f]{24}$")
# The TDT pure-identity patterns of the 96-bit schemes: narrower than the URN syntax
# gs1.identifiers parses (a numeric serial without leading zeros, digit counts the
# partitions allow), so a URN that is valid but not encodable says why here.
_SGTIN_URN_RE = re.compile(r"^urn:epc:id:sgtin:(\d{6,12})\.(\d{1,7})\.(\d{1,12})$")
_SSCC_URN_RE = re.compile(r"^urn:epc:id:sscc:(\d{6,12})\.(\d{5,11})$")


def _partition_for(table: tuple[Partition, ...], prefix: str, ref: str, what: str) -> int:
    for value, part in enumerate(table):
        if part.prefix_digits == len(prefix):
            if len(ref) != part.ref_digits:
                raise EpcError(
                    f"{what}: a {len(prefix)}-digit company prefix needs a "
                    f"{part.ref_digits}-digit reference, got {len(ref)} digits"
                )
            return value
    raise EpcError(f"{what}: company prefix must have 6 to 12 digits, got {len(prefix)}")


def _pack(
    header: int,
    filter_: int,
    partition: int,
    table: tuple[Partition, ...],
    prefix: str,
    ref: str,
    tail_bits: int,
    tail: int,
) -> str:
    """24 hex characters: header, filter, partition, prefix, reference, then the tail."""
    part = table[partition]
    value = header
    value = (value << 3) | filter_
    value = (value << 3) | partition
    value = (value << part.prefix_bits) | int(prefix)
    value = (value << part.ref_bits) | int(ref)
    value = (value << tail_bits) | tail
    return f"{value:024X}"


class Sgtin96(BaseModel):
    """A serialised GTIN: company prefix, item reference (indicator digit first), serial."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filter: int = Field(default=3, ge=0, le=7)
    company_prefix: str = Field(pattern=r"^\d{6,12}$")
    item_ref: str = Field(pattern=r"^\d{1,7}$")
    serial: int = Field(ge=0, le=MAX_SGTIN_SERIAL)

    @model_validator(mode="after")
    def _fits_partition(self) -> Sgtin96:
        _partition_for(SGTIN96_PARTITIONS, self.company_prefix, self.item_ref, "SGTIN-96")
        return self

    @property
    def partition(self) -> int:
        return _partition_for(SGTIN96_PARTITIONS, self.company_prefix, self.item_ref, "SGTIN-96")

    @property
    def urn(self) -> str:
        """Pure identity: ``urn:epc:id:sgtin:CompanyPrefix.IndicatorItemRef.Serial``."""
        return sgtin_urn(self.company_prefix, self.item_ref, str(self.serial))

    @property
    def tag_urn(self) -> str:
        """Tag encoding: ``urn:epc:tag:sgtin-96:Filter.CompanyPrefix.ItemRef.Serial``."""
        parts = (self.filter, self.company_prefix, self.item_ref, self.serial)
        return "urn:epc:tag:sgtin-96:" + ".".join(str(p) for p in parts)

    @property
    def gtin(self) -> str:
        """GTIN-14: indicator digit, company prefix, rest of item reference, check digit."""
        return key_of(self.company_prefix, self.item_ref)

    @property
    def hex(self) -> str:
        """The 96-bit binary encoding as 24 upper-case hex characters."""
        fields = (self.company_prefix, self.item_ref, 38, self.serial)
        return _pack(SGTIN96_HEADER, self.filter, self.partition, SGTIN96_PARTITIONS, *fields)

    @classmethod
    def from_urn(cls, urn: str, filter: int = 3) -> Sgtin96:
        """Parse a pure-identity SGTIN URN with a numeric serial (encodable in 96 bits)."""
        match = _SGTIN_URN_RE.fullmatch(urn)
        if match is None:
            raise EpcError(
                f"{urn!r} is not an SGTIN-96-encodable URN "
                "urn:epc:id:sgtin:<CompanyPrefix>.<IndicatorItemRef>.<NumericSerial>"
            )
        prefix, ref, serial = match.groups()
        if len(serial) > 1 and serial.startswith("0"):
            raise EpcError(f"{urn!r}: SGTIN-96 serials have no leading zeros (TDS)")
        if int(serial) > MAX_SGTIN_SERIAL:
            raise EpcError(f"{urn!r}: serial out of range, SGTIN-96 allows 0..{MAX_SGTIN_SERIAL}")
        _partition_for(SGTIN96_PARTITIONS, prefix, ref, "SGTIN-96")
        return cls(filter=filter, company_prefix=prefix, item_ref=ref, serial=int(serial))


class Sscc96(BaseModel):
    """A Serial Shipping Container Code: company prefix and serial reference (extension first)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filter: int = Field(default=0, ge=0, le=7)
    company_prefix: str = Field(pattern=r"^\d{6,12}$")
    serial_ref: str = Field(pattern=r"^\d{5,11}$")

    @model_validator(mode="after")
    def _fits_partition(self) -> Sscc96:
        _partition_for(SSCC96_PARTITIONS, self.company_prefix, self.serial_ref, "SSCC-96")
        return self

    @property
    def partition(self) -> int:
        return _partition_for(SSCC96_PARTITIONS, self.company_prefix, self.serial_ref, "SSCC-96")

    @property
    def urn(self) -> str:
        """Pure identity: ``urn:epc:id:sscc:CompanyPrefix.SerialReference``."""
        return sscc_urn(self.company_prefix, self.serial_ref)

    @property
    def tag_urn(self) -> str:
        return f"urn:epc:tag:sscc-96:{self.filter}.{self.company_prefix}.{self.serial_ref}"

    @property
    def sscc(self) -> str:
        """The 18-digit SSCC: extension digit, company prefix, serial reference, check digit."""
        return key_of(self.company_prefix, self.serial_ref)

    @property
    def hex(self) -> str:
        # the 24 trailing bits are reserved, all zero
        fields = (self.company_prefix, self.serial_ref, 24, 0)
        return _pack(SSCC96_HEADER, self.filter, self.partition, SSCC96_PARTITIONS, *fields)

    @classmethod
    def from_urn(cls, urn: str, filter: int = 0) -> Sscc96:
        match = _SSCC_URN_RE.fullmatch(urn)
        if match is None:
            raise EpcError(
                f"{urn!r} is not an SSCC URN urn:epc:id:sscc:<CompanyPrefix>.<SerialRef>"
            )
        prefix, ref = match.groups()
        _partition_for(SSCC96_PARTITIONS, prefix, ref, "SSCC-96")
        return cls(filter=filter, company_prefix=prefix, serial_ref=ref)


Epc = Sgtin96 | Sscc96


def _split(value: int, table: tuple[Partition, ...], what: str) -> tuple[int, int, str, str, int]:
    """Return filter, partition, prefix digits, reference digits and the trailing bits."""
    filter_ = (value >> 85) & 0b111
    partition = (value >> 82) & 0b111
    if partition >= len(table):
        raise EpcError(f"{what}: bad partition {partition}, only 0..{len(table) - 1} are defined")
    part = table[partition]
    tail_bits = 82 - part.prefix_bits - part.ref_bits
    prefix = (value >> (82 - part.prefix_bits)) & ((1 << part.prefix_bits) - 1)
    ref = (value >> tail_bits) & ((1 << part.ref_bits) - 1)
    tail = value & ((1 << tail_bits) - 1)
    if prefix >= 10**part.prefix_digits:
        raise EpcError(
            f"{what}: company prefix {prefix} does not fit the {part.prefix_digits} digits "
            f"of partition {partition}"
        )
    if ref >= 10**part.ref_digits:
        raise EpcError(
            f"{what}: reference {ref} does not fit the {part.ref_digits} digits "
            f"of partition {partition}"
        )
    return (
        filter_,
        partition,
        str(prefix).zfill(part.prefix_digits),
        str(ref).zfill(part.ref_digits),
        tail,
    )


def decode_epc(epc_hex: str) -> Epc:
    """Decode a 96-bit EPC given as 24 hex characters; raise EpcError with the reason."""
    if not isinstance(epc_hex, str) or not _HEX_RE.fullmatch(epc_hex):
        raise EpcError(f"EPC {epc_hex!r} must be 24 hex characters (a 96-bit tag)")
    value = int(epc_hex, 16)
    header = value >> 88
    if header == SGTIN96_HEADER:
        filter_, _, prefix, ref, serial = _split(value, SGTIN96_PARTITIONS, "SGTIN-96")
        return Sgtin96(filter=filter_, company_prefix=prefix, item_ref=ref, serial=serial)
    if header == SSCC96_HEADER:
        filter_, _, prefix, ref, reserved = _split(value, SSCC96_PARTITIONS, "SSCC-96")
        if reserved != 0:
            raise EpcError("SSCC-96: the 24 reserved bits must be zero")
        return Sscc96(filter=filter_, company_prefix=prefix, serial_ref=ref)
    raise EpcError(
        f"unknown EPC header 0x{header:02X}: only SGTIN-96 (0x30) and SSCC-96 (0x31) are decoded"
    )


def encode_epc(identity: str) -> str:
    """24-hex encoding of a pure-identity SGTIN/SSCC URN, or of an already-hex EPC (checked)."""
    if _HEX_RE.fullmatch(identity):
        return decode_epc(identity).hex
    if identity.startswith("urn:epc:id:sgtin:"):
        return Sgtin96.from_urn(identity).hex
    if identity.startswith("urn:epc:id:sscc:"):
        return Sscc96.from_urn(identity).hex
    raise EpcError(f"{identity!r} is neither 24 hex characters nor an SGTIN/SSCC pure-identity URN")
