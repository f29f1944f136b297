"""The broker's view of the registry: its TLS certificate, ACL, password file and CRL.

Rewritten from the document on every change; mosquitto re-reads the ACL, the password
file and the CRL on SIGHUP (``reload``), so a revoked device is refused on its next
connection and its publishes are denied even before that.
"""

from __future__ import annotations

import os
import signal
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from gateway.devices import pki
from gateway.devices.access import render_acl, render_password_file
from gateway.devices.folder import RegistryFolder, write_private
from gateway.devices.records import RegistryDocument

# What a broker needs, without the CA key, the device keys or the passphrase.
_SHARED = ("cafile", "certfile", "keyfile", "crlfile", "acl_file", "password_file")


class BrokerFiles(BaseModel):
    """Paths of everything mosquitto needs for TLS and access control. The ACL, password
    file and CRL are the registry's own (rewritten on every change); only the decrypted
    server key and the pid file live in the runtime folder."""

    model_config = ConfigDict(frozen=True)

    cafile: Path
    certfile: Path
    keyfile: Path
    crlfile: Path
    acl_file: Path
    password_file: Path
    pid_file: Path

    @classmethod
    def under(cls, ca: Path, broker: Path, runtime: Path) -> BrokerFiles:
        """The files under their fixed names: the CA certificate in ``ca``, the registry's
        broker files in ``broker``, the decrypted key and the pid file in ``runtime``."""
        return cls(
            cafile=ca / "ca.crt",
            certfile=broker / "server.crt",
            keyfile=runtime / "server.key",
            crlfile=broker / "crl.pem",
            acl_file=broker / "acl",
            password_file=broker / "passwd",
            pid_file=runtime / "mosquitto.pid",
        )


class BrokerView:
    """Writes and hands out the broker's files of one registry folder."""

    def __init__(self, folder: RegistryFolder) -> None:
        self._folder = folder
        self.files = BrokerFiles.under(folder.ca_cert.parent, folder.broker, folder.runtime)

    def certify(
        self,
        doc: RegistryDocument,
        names: tuple[str, ...],
        *,
        days: int = 365,
        renew: bool = False,
        now: datetime | None = None,
    ) -> bool:
        """Issue the broker's certificate for ``names`` if it is missing, a name is new or
        ``renew`` (and the CA first, if there is none yet); True if it did."""
        ca_cert, ca_key = self._folder.ca(doc.site)
        if self.files.certfile.exists() and names == doc.broker_names and not renew:
            return False
        doc.broker_names = names
        key = pki.new_key()
        cert = pki.issue(
            ca_cert, ca_key, key, "tracehub broker", server_names=names, days=days, now=now
        )
        self._folder.write_key(self._folder.broker / "server.key", key)
        if self.files.keyfile.exists():
            # A broker runs on the decrypted copy: give it the new key before the new
            # certificate, so a reload (SIGHUP) picks up a matching pair.
            write_private(self.files.keyfile, pki.plain_key(key))
        self._folder.write_cert(self.files.certfile, cert)
        return True

    def write(self, doc: RegistryDocument, now: datetime | None = None) -> None:
        """The ACL and password file of the active identities and, once there is a CA,
        the CRL of every retired serial."""
        active = doc.active
        write_private(self.files.acl_file, render_acl(r.identity for r in active).encode())
        write_private(
            self.files.password_file,
            render_password_file(
                (r.username, r.password_hash) for r in active if r.password_hash
            ).encode(),
        )
        if self._folder.ca_cert.exists():
            ca_cert, ca_key = self._folder.ca(doc.site)
            crl = pki.create_crl(ca_cert, ca_key, doc.revoked_serials, now=now)
            write_private(self.files.crlfile, crl, 0o644)

    def decrypted(self) -> BrokerFiles:
        """The files, with the server key decrypted into the runtime folder: mosquitto has
        no passphrase option (docs/security.md says who can read it)."""
        key = self._folder.read_key(self._folder.broker / "server.key")
        write_private(self.files.keyfile, pki.plain_key(key))
        return self.files

    @staticmethod
    def export(source: BrokerFiles, dest: Path) -> BrokerFiles:
        """Copy only what a broker needs from ``source`` into ``dest`` under the fixed
        names (ca.crt server.crt server.key crl.pem acl passwd)."""
        files = BrokerFiles.under(dest, dest, dest)
        for name in _SHARED:
            data = getattr(source, name).read_bytes()
            write_private(getattr(files, name), data, 0o600 if name == "keyfile" else 0o644)
        return files

    def reload(self) -> bool:
        """SIGHUP the local broker started on this folder (its pid file), so it re-reads
        the ACL, password file and CRL; False if none runs."""
        try:
            pid = int(self.files.pid_file.read_text().strip())
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except (OSError, ValueError):
            return False
        if comm != "mosquitto":  # a stale pid file must not signal an unrelated process
            return False
        try:
            os.kill(pid, signal.SIGHUP)
        except OSError:
            return False
        return True
