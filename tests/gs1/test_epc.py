"""gs1.epc against GS1 examples and the TDT 2.2 binary patterns (see tests/data/gs1)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gs1.epc import (
    SGTIN96_PARTITIONS,
    SSCC96_PARTITIONS,
    Sgtin96,
    Sscc96,
    decode_epc,
    encode_epc,
)
from gs1.errors import EpcError

DATA = Path(__file__).parent.parent / "data" / "gs1"
VECTORS = json.loads((DATA / "epc-vectors.json").read_text())
TDT = json.loads((DATA / "tdt-binary-partitions.json").read_text())["schemes"]


def tdt_decode(scheme: str, epc_hex: str) -> dict[str, Any]:
    """Independent oracle: match the TDT BINARY regexes on the bit string."""
    bits = format(int(epc_hex, 16), "096b")
    for option in TDT[scheme]["options"]:
        match = re.match(option["pattern"], bits)
        if match:
            values = [int(g, 2) for g in match.groups()]
            fields = {f["name"]: (v, f) for f, v in zip(option["fields"], values, strict=True)}
            return {"optionKey": int(option["optionKey"]), "fields": fields}
    raise AssertionError("no TDT option matched")


@pytest.mark.parametrize("case", VECTORS["tds_examples"], ids=lambda c: c["hex"])
def test_decodes_gs1_examples(case: dict[str, str]) -> None:
    epc = decode_epc(case["hex"])
    assert epc.urn == case["urn"]
    assert epc.tag_urn == case["tag_urn"]
    if isinstance(epc, Sgtin96):
        assert epc.gtin == case["gtin"]
    else:
        assert epc.sscc == case["sscc"]
    assert epc.hex == case["hex"]


@pytest.mark.parametrize("case", VECTORS["urn_to_gs1_key"], ids=lambda c: c["urn"])
def test_urn_gives_the_gs1_key_of_the_reference_implementation(case: dict[str, str]) -> None:
    if "gtin" in case:
        sgtin = Sgtin96.from_urn(case["urn"])
        assert sgtin.gtin == case["gtin"]
        assert decode_epc(sgtin.hex) == sgtin
    else:
        sscc = Sscc96.from_urn(case["urn"])
        assert sscc.sscc == case["sscc"]
        assert decode_epc(sscc.hex) == sscc


@given(
    partition=st.integers(0, 6),
    filter_=st.integers(0, 7),
    data=st.data(),
)
def test_sgtin_encoding_matches_the_tdt_patterns(partition: int, filter_: int, data: Any) -> None:
    part = SGTIN96_PARTITIONS[partition]
    prefix = data.draw(st.integers(0, 10**part.prefix_digits - 1))
    ref = data.draw(st.integers(0, 10**part.ref_digits - 1))
    serial = data.draw(st.integers(0, 2**38 - 1))
    sgtin = Sgtin96(
        filter=filter_,
        company_prefix=str(prefix).zfill(part.prefix_digits),
        item_ref=str(ref).zfill(part.ref_digits),
        serial=serial,
    )
    oracle = tdt_decode("SGTIN-96", sgtin.hex)
    assert oracle["optionKey"] == part.prefix_digits
    f = oracle["fields"]
    assert (f["filter"][0], f["gs1companyprefix"][0], f["itemref"][0], f["serial"][0]) == (
        filter_,
        prefix,
        ref,
        serial,
    )
    assert decode_epc(sgtin.hex) == sgtin


@given(partition=st.integers(0, 6), data=st.data())
def test_sscc_encoding_matches_the_tdt_patterns(partition: int, data: Any) -> None:
    part = SSCC96_PARTITIONS[partition]
    prefix = data.draw(st.integers(0, 10**part.prefix_digits - 1))
    ref = data.draw(st.integers(0, 10**part.ref_digits - 1))
    sscc = Sscc96(
        company_prefix=str(prefix).zfill(part.prefix_digits),
        serial_ref=str(ref).zfill(part.ref_digits),
    )
    oracle = tdt_decode("SSCC-96", sscc.hex)
    assert oracle["optionKey"] == part.prefix_digits
    assert oracle["fields"]["serialref"][0] == ref
    assert decode_epc(sscc.hex) == sscc
    assert len(sscc.sscc) == 18


def test_partition_tables_equal_the_tdt_definitions() -> None:
    for scheme, table in (("SGTIN-96", SGTIN96_PARTITIONS), ("SSCC-96", SSCC96_PARTITIONS)):
        options = TDT[scheme]["options"]
        assert len(options) == len(table)
        for value, (option, part) in enumerate(zip(options, table, strict=True)):
            fields = {f["name"]: f for f in option["fields"]}
            ref_name = "itemref" if scheme == "SGTIN-96" else "serialref"
            assert f"([01]{{3}}){value:03b}(" in option["pattern"]
            assert fields["gs1companyprefix"]["bitLength"] == part.prefix_bits
            assert fields["gs1companyprefix"]["length"] == part.prefix_digits
            assert fields[ref_name]["bitLength"] == part.ref_bits
            assert fields[ref_name]["length"] == part.ref_digits


@pytest.mark.parametrize(
    ("epc_hex", "reason"),
    [
        ("3574257BF7194E4000001A85", "unknown EPC header 0x35"),
        ("E2801160600002054CC2096F", "unknown EPC header 0xE2"),
        ("307C257BF7194E4000001A85", "bad partition 7"),
        ("3023FFFFFFFFFF0000000000", "company prefix 1099511627775 does not fit the 12 digits"),
        ("3074257BFFFFFFC000001A85", "reference 1048575 does not fit the 6 digits"),
        ("3174257BF4499602D2000001", "24 reserved bits must be zero"),
        ("3074257BF7194E4000001A8", "must be 24 hex characters"),
        ("3074257BF7194E4000001A8G", "must be 24 hex characters"),
        ("3074257BF7194E4000001A85\n", "must be 24 hex characters"),
    ],
)
def test_undecodable_epcs_say_why(epc_hex: str, reason: str) -> None:
    with pytest.raises(EpcError, match=re.escape(reason)):
        decode_epc(epc_hex)


@pytest.mark.parametrize(
    ("urn", "reason"),
    [
        ("urn:epc:id:sgtin:0614141.812345.274877906944", "serial out of range"),
        ("urn:epc:id:sgtin:0614141.812345.007", "no leading zeros"),
        ("urn:epc:id:sgtin:0614141.81234.1", "needs a 6-digit reference"),
        ("urn:epc:id:sgtin:0614141.812345.ABC", "not an SGTIN-96-encodable URN"),
        ("urn:epc:id:sscc:0614141.123", "not an SSCC URN"),
        ("urn:epc:id:grai:4012345.00022.334455", "neither 24 hex characters"),
    ],
)
def test_unencodable_urns_say_why(urn: str, reason: str) -> None:
    with pytest.raises(EpcError, match=re.escape(reason)):
        encode_epc(urn)


def test_encode_accepts_hex_and_normalises_case() -> None:
    assert encode_epc("3074257bf7194e4000001a85") == "3074257BF7194E4000001A85"
