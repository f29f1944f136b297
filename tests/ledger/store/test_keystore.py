"""Keys at rest: encrypted PKCS#8, rotation with validity periods, never shown."""

from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account

from ledger.errors import KeyStoreError
from ledger.store.keystore import KeyStore
from tests.ledger.conftest import T0

SECRET = "correct horse battery staple"


def test_signing_key_is_encrypted_and_reloaded(tmp_path: Path) -> None:
    keys = KeyStore.open(tmp_path, SECRET)
    signer = keys.signer("site:a", T0)
    assert keys.signer("site:a", T0 + timedelta(days=1)).key_id == signer.key_id
    (pem,) = (tmp_path / "signing").iterdir()
    text = pem.read_text()
    assert "ENCRYPTED PRIVATE KEY" in text
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    again = KeyStore.open(tmp_path, SECRET).signer("site:a", T0)
    assert again.public.verify(again.sign(b"x"), b"x")
    assert signer.public.verify(again.sign(b"x"), b"x")
    assert SECRET not in repr(keys) + repr(signer)


def test_wrong_passphrase_is_refused_without_leaking(tmp_path: Path) -> None:
    KeyStore.open(tmp_path, SECRET).signer("site:a", T0)
    with pytest.raises(KeyStoreError, match="TRACEHUB_LEDGER_KEY_PASSPHRASE") as info:
        KeyStore.open(tmp_path, "another secret!").signer("site:a", T0)
    assert SECRET not in str(info.value)
    with pytest.raises(KeyStoreError, match="shorter than 8"):
        KeyStore.open(tmp_path, "short")


def test_rotation_closes_the_old_period(tmp_path: Path) -> None:
    keys = KeyStore.open(tmp_path, SECRET)
    old = keys.signer("site:a", T0)
    new = keys.rotate("site:a", T0 + timedelta(days=30))
    assert new.key_id != old.key_id
    by_id = {k.key_id: k for k in keys.public_keys()}
    assert by_id[old.key_id].covers(T0 + timedelta(days=29))
    assert not by_id[old.key_id].covers(T0 + timedelta(days=30))
    assert by_id[new.key_id].covers(T0 + timedelta(days=30))
    assert keys.signer("site:a", T0 + timedelta(days=31)).key_id == new.key_id


def test_zero_config_generates_a_private_passphrase_file(tmp_path: Path) -> None:
    keys = KeyStore.open(tmp_path, None)
    account = keys.account_key()
    assert stat.S_IMODE((tmp_path / "passphrase").stat().st_mode) == 0o600
    assert KeyStore.open(tmp_path, None).account_key() == account
    assert Account.from_key(account).address.startswith("0x")
    assert "ENCRYPTED PRIVATE KEY" in (tmp_path / "account.pem").read_text()


def test_imported_account_key_round_trips(tmp_path: Path) -> None:
    keys = KeyStore.open(tmp_path, SECRET)
    key = "0x" + "5a" * 32
    keys.import_account_key(key)
    assert keys.account_key() == key
    with pytest.raises(KeyStoreError, match="0x-prefixed hex"):
        keys.import_account_key("not hex")
