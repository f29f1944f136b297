"""TOTP against RFC 6238 appendix B (and RFC 4226 appendix D), the ±1 step window, a
code accepted once, the otpauth URI authenticator apps scan."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from traceability.accounts import totp

# RFC 6238 appendix B: the seeds are ASCII "1234567890" repeated to each hash's size.
SEEDS = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
VECTORS = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("unix", "sha1", "sha256", "sha512"), VECTORS)
def test_rfc6238_appendix_b(unix: int, sha1: str, sha256: str, sha512: str) -> None:
    at = datetime.fromtimestamp(unix, UTC)
    for digest, expected in (("sha1", sha1), ("sha256", sha256), ("sha512", sha512)):
        assert totp.totp(SEEDS[digest], at, digits=8, digest=digest) == expected, digest


def test_rfc4226_appendix_d_six_digits() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314", "254676", "287922"]
    assert [totp.hotp(SEEDS["sha1"], c) for c in range(7)] == expected


def _secret() -> str:
    return base64.b32encode(SEEDS["sha1"]).decode().rstrip("=")


AT = datetime.fromtimestamp(1111111111, UTC)  # step 37037037, 1 s into it
STEP = 37037037


def test_match_takes_one_step_either_side_and_no_further() -> None:
    secret = _secret()
    for offset in (-1, 0, 1):
        code = totp.hotp(SEEDS["sha1"], STEP + offset)
        assert totp.match(secret, code, AT, None) == STEP + offset
    for offset in (-2, 2):
        assert totp.match(secret, totp.hotp(SEEDS["sha1"], STEP + offset), AT, None) is None


def test_a_step_is_accepted_once_and_never_an_older_one() -> None:
    secret = _secret()
    code = totp.hotp(SEEDS["sha1"], STEP)
    assert totp.match(secret, code, AT, STEP - 1) == STEP
    assert totp.match(secret, code, AT, STEP) is None  # replayed
    earlier = totp.hotp(SEEDS["sha1"], STEP - 1)
    assert totp.match(secret, earlier, AT, STEP) is None  # older than the last used
    later = totp.hotp(SEEDS["sha1"], STEP + 1)
    assert totp.match(secret, later, AT, STEP) == STEP + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "12345a", "１２３４５６", "-12345"])
def test_malformed_codes_match_nothing(code: str) -> None:
    assert totp.match(_secret(), code, AT, None) is None


def test_a_code_typed_with_a_space_is_read() -> None:
    code = totp.hotp(SEEDS["sha1"], STEP)
    assert totp.match(_secret(), f"{code[:3]} {code[3:]}", AT, None) == STEP


def test_a_new_secret_is_160_bits_of_base32_read_back_leniently() -> None:
    secret = totp.new_secret()
    assert len(totp.secret_key(secret)) == 20
    assert totp.new_secret() != secret
    spaced = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)).lower()
    assert totp.secret_key(spaced) == totp.secret_key(secret)
    with pytest.raises(ValueError, match="not base32"):
        totp.secret_key("not base32!")


def test_otpauth_uri_names_the_issuer_the_account_and_the_parameters() -> None:
    uri = totp.otpauth_uri("JBSWY3DPEHPK3PXP", "alice@wh1", "tracehub Hamburg")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/tracehub%20Hamburg:alice@wh1"
    query = parse_qs(parts.query)
    assert query == {
        "secret": ["JBSWY3DPEHPK3PXP"],
        "issuer": ["tracehub Hamburg"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }


def test_time_step_is_whole_30_second_steps_since_the_epoch() -> None:
    assert totp.time_step(datetime.fromtimestamp(59, UTC)) == 1
    assert totp.time_step(datetime.fromtimestamp(60, UTC)) == 2
    assert totp.time_step(AT + timedelta(seconds=28)) == STEP
    assert totp.time_step(AT + timedelta(seconds=29)) == STEP + 1
