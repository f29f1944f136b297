"""GS1 identifiers. Valid GTINs are public examples (Wikipedia EAN-8/EAN-13/UPC-A
articles, GS1 General Specifications examples); SGTIN/SGLN URNs follow TDS 2.x."""

from __future__ import annotations

import pydantic
import pytest

from gs1.errors import InvalidIdentifier
from gs1.identifiers import (
    Gtin,
    Lgtin,
    LotNumber,
    SerialNumber,
    Sgln,
    Sgtin,
    Sscc,
    check_digit,
    key_of,
    sgtin_urn,
    with_check_digit,
)


@pytest.mark.parametrize(
    ("text", "gtin14"),
    [
        ("73513537", "00000073513537"),  # GTIN-8
        ("036000291452", "00036000291452"),  # GTIN-12 (UPC-A)
        ("4006381333931", "04006381333931"),  # GTIN-13
        ("10614141000415", "10614141000415"),  # GTIN-14 with indicator 1
    ],
)
def test_valid_gtins_normalise_to_14_digits(text: str, gtin14: str) -> None:
    assert Gtin.parse(text).value == gtin14
    assert Gtin(value=text).value == gtin14


def test_check_digit_helper() -> None:
    assert check_digit("400638133393") == 1
    assert check_digit("0061414100041") == 8
    assert check_digit("7351353") == 7
    # the GTIN-14 bodies of the TDS SGTIN-96 examples (gs1.epc uses this check digit)
    assert check_digit("8061414112345") == 8
    assert check_digit("0401234511111") == 8


def test_wrong_check_digit_names_the_right_one() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Gtin.parse("4012345000010")
    assert str(info.value) == "GTIN 4012345000010: check digit should be 6"
    assert info.value.field == "GTIN"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("12345", "has 5 digits; a GTIN has 8, 12, 13 or 14 digits"),
        ("40123450000l6", "must contain decimal digits only"),
        ("", "must contain decimal digits only"),
    ],
)
def test_malformed_gtins(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        Gtin.parse(text)


def test_gtin_constructor_validates_too() -> None:
    with pytest.raises(pydantic.ValidationError, match="check digit should be 6"):
        Gtin(value="4012345000010")


def test_gtin_is_frozen() -> None:
    gtin = Gtin.parse("4006381333931")
    with pytest.raises(pydantic.ValidationError):
        gtin.value = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "lot", ["A", "LOT-2026/11", "a!\"%&'()*+,-./:", ";<=>?_Z09", "12345678901234567890"]
)
def test_lot_accepts_character_set_82(lot: str) -> None:
    assert LotNumber.parse(lot).value == lot


@pytest.mark.parametrize(
    ("lot", "reason"),
    [
        ("", "must not be empty"),
        ("L" * 21, "is 21 characters long; GS1 allows at most 20"),
        ("LOT 1", "contains ' ', outside GS1 character set 82"),
        ("LOT#1", "contains '#'"),
        ("LÖT", "contains 'Ö'"),
    ],
)
def test_lot_rejections_name_the_problem(lot: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason) as info:
        LotNumber.parse(lot)
    assert info.value.field == "lot"


def test_serial_uses_the_same_rules() -> None:
    assert SerialNumber.parse("1001").value == "1001"
    with pytest.raises(InvalidIdentifier, match="serial"):
        SerialNumber.parse("10 01")


def test_sgtin_parse_and_format_round_trip() -> None:
    sgtin = Sgtin.parse("urn:epc:id:sgtin:4012345.011111.1001")
    assert sgtin.gtin.value == "04012345111118"
    assert sgtin.serial.value == "1001"
    assert sgtin.company_prefix_length == 7
    assert sgtin.urn == "urn:epc:id:sgtin:4012345.011111.1001"


def test_sgtin_from_gtin_with_indicator_digit() -> None:
    sgtin = Sgtin.of(Gtin.parse("10614141000415"), SerialNumber.parse("7"), 7)
    assert sgtin.urn == "urn:epc:id:sgtin:0614141.100041.7"
    assert Sgtin.parse(sgtin.urn) == sgtin


def test_sgtin_serial_is_percent_escaped_in_the_urn() -> None:
    sgtin = Sgtin.of(Gtin.parse("4006381333931"), SerialNumber.parse("A/B%C"), 9)
    assert sgtin.urn == "urn:epc:id:sgtin:400638133.0393.A%2FB%25C"
    assert Sgtin.parse(sgtin.urn).serial.value == "A/B%C"


@pytest.mark.parametrize(
    ("urn", "reason"),
    [
        ("urn:epc:id:sscc:4012345.0000000001", "must start with 'urn:epc:id:sgtin:'"),
        ("urn:epc:id:sgtin:4012345.011111", "three dot-separated parts"),
        ("urn:epc:id:sgtin:4012345.01111.1", "must total 13"),
        ("urn:epc:id:sgtin:40123.0111111.1", "company prefix has 5 digits"),
        ("urn:epc:id:sgtin:4012345.0111x1.1", "must be digits"),
        ("urn:epc:id:sgtin:4012345.011111.a b", "serial"),
    ],
)
def test_sgtin_rejections(urn: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        Sgtin.parse(urn)


def test_sgln_parse() -> None:
    sgln = Sgln.parse("urn:epc:id:sgln:4012345.00001.0")
    assert sgln.gln == "4012345000016"
    assert Gtin.parse(sgln.gln)  # same mod-10 check digit as a GTIN-13
    assert sgln.extension == "0"
    assert sgln.urn == "urn:epc:id:sgln:4012345.00001.0"


@pytest.mark.parametrize(
    ("urn", "reason"),
    [
        ("urn:epc:id:sgtin:4012345.00001.0", "must start with 'urn:epc:id:sgln:'"),
        ("urn:epc:id:sgln:4012345.0001.0", "must total 12"),
        ("urn:epc:id:sgln:4012345.00001", "three dot-separated parts"),
    ],
)
def test_sgln_rejections(urn: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        Sgln.parse(urn)


@pytest.mark.parametrize(
    ("urn", "sscc"),
    [
        # the TDS SSCC-96 example and two of the event-hash reference's cases
        # (tests/data/gs1/epc-vectors.json)
        ("urn:epc:id:sscc:0614141.1234567890", "106141412345678908"),
        ("urn:epc:id:sscc:4012345.3111111111", "340123451111111111"),
        ("urn:epc:id:sscc:4012345.0000000011", "040123450000000115"),
    ],
)
def test_sscc_parse_and_format_round_trip(urn: str, sscc: str) -> None:
    parsed = Sscc.parse(urn)
    assert parsed.value == sscc
    assert parsed.company_prefix_length == 7
    assert parsed.urn == urn
    assert Sscc.of(sscc, 7) == parsed


@pytest.mark.parametrize(
    ("urn", "reason"),
    [
        ("urn:epc:id:sgtin:0614141.1234567890", "must start with 'urn:epc:id:sscc:'"),
        ("urn:epc:id:sscc:0614141.123", "must total 17"),
        ("urn:epc:id:sscc:0614141", "two dot-separated parts"),
        ("urn:epc:id:sscc:0614141.12345.67890", "must be digits"),
    ],
)
def test_sscc_rejections(urn: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        Sscc.parse(urn)


def test_sscc_values_are_checked() -> None:
    with pytest.raises(pydantic.ValidationError, match="check digit should be 8"):
        Sscc.of("106141412345678900", 7)
    with pytest.raises(pydantic.ValidationError, match="18 decimal digits"):
        Sscc.of("10614141234567890", 7)
    with pytest.raises(pydantic.ValidationError, match="6 to 12 digits"):
        Sscc.of("106141412345678908", 5)


def test_keys_are_built_from_epc_parts_with_the_one_check_digit() -> None:
    assert with_check_digit("0401234511111") == "04012345111118"
    assert key_of("4012345", "011111") == "04012345111118"  # indicator digit 0 leads
    assert key_of("0614141", "1234567890") == "106141412345678908"  # extension digit 1
    assert sgtin_urn("4012345", "011111", "A/B") == "urn:epc:id:sgtin:4012345.011111.A%2FB"


def test_an_lgtin_class_splits_into_gtin_and_lot_and_writes_back() -> None:
    lgtin = Lgtin.parse("urn:epc:class:lgtin:4012345.011111.L%2F1")
    assert (lgtin.gtin.value, lgtin.lot.value) == ("04012345111118", "L/1")
    assert lgtin.urn == "urn:epc:class:lgtin:4012345.011111.L%2F1"
    assert Lgtin.parse(lgtin.urn) == lgtin


@pytest.mark.parametrize(
    ("urn", "kind", "reason"),
    [
        # the attack: a lot far past AI (10)'s 20 characters
        ("urn:epc:class:lgtin:4012345.011111." + "A" * 250, "lot", "250 characters long"),
        ("urn:epc:class:lgtin:4012345.011111." + "A" * 21, "lot", "at most 20"),
        ("urn:epc:class:lgtin:4012345.011111.", "lot", "must not be empty"),
        ("urn:epc:class:lgtin:4012345.011111.L%201", "lot", "outside GS1 character set 82"),
        ("urn:epc:class:lgtin:4012345.01111.L1", "LGTIN", "must total 13"),
        ("urn:epc:class:lgtin:4012345.011111", "LGTIN", "three dot-separated parts"),
        ("urn:epc:id:sgtin:4012345.011111.L1", "LGTIN", "must start with"),
    ],
)
def test_an_lgtin_lot_is_held_to_ai_10(urn: str, kind: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        Lgtin.parse(urn)
    assert info.value.field == kind
    assert reason in info.value.reason
