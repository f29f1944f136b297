"""The password policy, one-time passwords, Argon2id hashes and their rehash."""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from tests.support.accounts import cheap_hasher
from traceability.accounts.errors import PasswordRefused
from traceability.accounts.passwords import Passwords, check_policy, one_time_password


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short pass", "10 characters; use at least 12"),
        ("x" * 257, "at most 256"),
        ("Alice.Smith1", "the user's name"),
        ("aaaaaaaaaaaaaa", "one character repeated"),
    ],
)
def test_the_policy_names_the_rule_broken(password: str, rule: str) -> None:
    with pytest.raises(PasswordRefused, match=re.escape(rule)):
        check_policy(password, "alice.smith1")


@pytest.mark.parametrize(
    "password", ["twelve chars", "correct horse battery", "密码很长的一句话就可以了吗"]
)
def test_length_is_what_counts(password: str) -> None:
    check_policy(password, "alice")


def test_one_time_passwords_are_random_readable_and_pass_the_policy() -> None:
    drawn = {one_time_password() for _ in range(200)}
    assert len(drawn) == 200
    for password in drawn:
        assert re.fullmatch(r"([a-z2-9]{5}-){3}[a-z2-9]{5}", password)
        assert not set(password) & set("01ilo")  # nothing to misread
        check_policy(password, "alice")


def test_hashes_are_argon2id_and_verify_only_the_password() -> None:
    passwords = Passwords(cheap_hasher())
    hashed = passwords.hash("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct" not in hashed
    assert passwords.verify(hashed, "correct horse battery")
    assert not passwords.verify(hashed, "correct horse battery ")
    assert not passwords.verify("$argon2id$damaged", "correct horse battery")
    assert not passwords.verify("", "")


def test_a_hash_with_other_parameters_needs_a_rehash() -> None:
    old = Passwords(cheap_hasher()).hash("correct horse battery")
    assert not Passwords(cheap_hasher()).needs_rehash(old)
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    assert stronger.needs_rehash(old)
    assert stronger.verify(old, "correct horse battery")  # still opens until rehashed
    assert stronger.needs_rehash("not a hash")


def test_the_default_hasher_is_argon2id_with_rfc9106_parameters() -> None:
    hashed = Passwords().hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
