"""Fuzzing EPC decoding (GS1 TDS SGTIN-96 / SSCC-96) with hypothesis: any text gives an
Epc or an EpcError with a reason; a decoded EPC re-encodes to the same hex."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gs1.epc import encode_epc
from tests.fuzz.targets import EPC_CORPUS, check_epc, corpus

SEEDS = [data.decode() for data in corpus(EPC_CORPUS)]
FUZZ = settings(max_examples=500, deadline=None)


@pytest.mark.parametrize("text", SEEDS)
def test_every_corpus_entry_decodes_or_explains(text: str) -> None:
    check_epc(text)


@FUZZ
@given(st.text(max_size=40))
def test_any_text(text: str) -> None:
    check_epc(text)


@FUZZ
@given(st.binary(min_size=12, max_size=12))
def test_any_96_bits(bits: bytes) -> None:
    """Every 96-bit pattern: header, filter, partition and fields at random. The pure
    identity leaves the filter out, so the round trip is compared as identities."""
    epc = check_epc(bits.hex().upper())
    if epc is not None:
        again = check_epc(encode_epc(epc.urn))
        assert again is not None
        assert again.urn == epc.urn


@FUZZ
@given(
    header=st.sampled_from([0x30, 0x31]),
    rest=st.binary(min_size=11, max_size=11),
)
def test_sgtin_and_sscc_headers_with_random_fields(header: int, rest: bytes) -> None:
    epc = check_epc((bytes([header]) + rest).hex())
    if epc is not None:
        assert epc.urn.startswith(("urn:epc:id:sgtin:", "urn:epc:id:sscc:"))
