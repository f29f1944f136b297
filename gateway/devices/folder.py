"""The registry folder on disk: where each file lives, owner-only writes, keys encrypted.

Layout (keys are PKCS#8 PEM encrypted with the passphrase)::

    registry.json                 site + one record per identity (status, cert serial, hash)
    passphrase                    only when no passphrase is given (demo), mode 0600
    ca/ca.crt  ca/ca.key          the site CA
    broker/server.crt server.key  the broker's TLS certificate
    broker/acl broker/passwd broker/crl.pem   generated for mosquitto on every change
    identities/<username>/client.crt client.key   one folder per identity
    runtime/                      a local broker's decrypted server key and pid file

Every file is written atomically (a crash leaves the old one or the new one); one
``lock()`` holder at a time changes the document.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography import x509
from pydantic import SecretStr, ValidationError

from gateway.devices import pki
from gateway.devices.expiry import Expiry
from gateway.devices.records import RegistryDocument
from gateway.errors import IdentityError


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` atomically, readable by the owner only (or ``mode``)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(tmp, mode)
    tmp.replace(path)


class RegistryFolder:
    """One registry folder and the passphrase its keys are encrypted with. Without one
    (the gateway's health watching expiry dates) only the public files can be read."""

    def __init__(self, root: Path, passphrase: bytes | None) -> None:
        self.root = root
        self._passphrase = passphrase

    @property
    def _secret(self) -> bytes:
        if self._passphrase is None:
            raise IdentityError(f"{self.root} was opened without its passphrase: keys are out")
        return self._passphrase

    @property
    def document(self) -> Path:
        return self.root / "registry.json"

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca" / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca" / "ca.key"

    @property
    def broker(self) -> Path:
        return self.root / "broker"

    @property
    def runtime(self) -> Path:
        """Where a local broker's decrypted key and pid file go (mode 0700)."""
        return self.root / "runtime"

    def identity(self, username: str) -> Path:
        return self.root / "identities" / username

    @property
    def key_password(self) -> SecretStr:
        """The passphrase, for a client that loads a key of this folder itself."""
        return SecretStr(self._secret.decode("utf-8"))

    # --- keys and certificates -------------------------------------------------------
    def write_key(self, path: Path, key: pki.PrivateKey) -> None:
        write_private(path, pki.encrypt_key(key, self._secret))

    def read_key(self, path: Path) -> pki.PrivateKey:
        return pki.load_key(path.read_bytes(), self._secret, str(path))

    @staticmethod
    def write_cert(path: Path, cert: x509.Certificate) -> None:
        write_private(path, pki.cert_pem(cert), 0o644)

    def ca(self, site: str) -> tuple[x509.Certificate, pki.PrivateKey]:
        """The site CA, created on first use."""
        if not self.ca_cert.exists():
            key = pki.new_key()
            cert = pki.create_ca(site, key)
            self.write_key(self.ca_key, key)
            self.write_cert(self.ca_cert, cert)
            return cert, key
        cert = pki.load_cert(self.ca_cert.read_bytes(), str(self.ca_cert))
        return cert, self.read_key(self.ca_key)

    def expiries(self, site: str) -> list[Expiry]:
        """Every dated item the broker depends on: each active identity's certificate, the
        broker's certificate, the CRL and the CA (those not created yet are left out)."""
        items = [
            Expiry(kind="identity", subject=r.username, not_after=r.cert_not_after)
            for r in self.load(site).active
            if r.cert_not_after is not None
        ]
        for kind, path in (("broker", self.broker / "server.crt"), ("ca", self.ca_cert)):
            if path.exists():
                cert = pki.load_cert(path.read_bytes(), str(path))
                items.append(
                    Expiry(kind=kind, subject=str(path), not_after=cert.not_valid_after_utc)
                )
        crl = self.broker / "crl.pem"
        if crl.exists():
            items.append(
                Expiry(
                    kind="crl",
                    subject=str(crl),
                    not_after=pki.crl_next_update(crl.read_bytes(), str(crl)),
                )
            )
        return items

    # --- the document ----------------------------------------------------------------
    def load(self, site: str) -> RegistryDocument:
        """The document; an empty one for ``site`` before the first change."""
        if not self.document.exists():
            return RegistryDocument(site=site)
        try:
            return RegistryDocument.model_validate_json(self.document.read_bytes())
        except (OSError, ValidationError) as exc:
            raise IdentityError(f"{self.document} cannot be read: {exc}; restore it") from exc

    def save(self, doc: RegistryDocument) -> None:
        write_private(self.document, (doc.model_dump_json(indent=2) + "\n").encode())

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One writer at a time (the CLI and a starting hub may race)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (self.root / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
