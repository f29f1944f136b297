"""The site's keys: the encrypted keystore, and the signer commands submit records with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from ledger.signing import PublicKey, Signer
from ledger.store.keystore import KeyStore
from ledger.store.sqlstore import LedgerStore
from tracehub.settings import Settings


def open_keystore(settings: Settings) -> KeyStore:
    """The site's signing keys and the anchoring account key, encrypted at rest."""
    secret = settings.ledger.key_passphrase
    return KeyStore.open(settings.ledger_keys_dir, secret.get_secret_value() if secret else None)


def site_signer(keys: KeyStore, settings: Settings) -> Signer:
    """The site's current signing key (reloaded after `tracehub ledger rotate-key`)."""
    return keys.signer(f"site:{settings.hub.site}", datetime.now(UTC))


def site_keys(keys: KeyStore, settings: Settings) -> list[PublicKey]:
    """The site's own public keys, every one it has held, as its keystore has them: the
    trust anchors of ``tracehub audit verify``, from outside the records database."""
    owner = f"site:{settings.hub.site}"
    return [key for key in keys.public_keys() if key.owner == owner]


@contextmanager
def site_ledger(settings: Settings) -> Iterator[tuple[LedgerStore, Signer]]:
    """The ledger store and the site's current signer, for a command that submits
    records (they are anchored by the hub's next batch)."""
    signer = site_signer(open_keystore(settings), settings)
    ledger = LedgerStore.open(settings.ledger_url)
    try:
        yield ledger, signer
    finally:
        ledger.close()
