"""The device registry: the site CA, every identity's credentials, and the broker's view.

Layout of the registry folder (keys are PKCS#8 PEM encrypted with the passphrase)::

    registry.json                 site + one record per identity (status, cert serial, hash)
    passphrase                    only when no passphrase is given (demo), mode 0600
    ca/ca.crt  ca/ca.key          the site CA
    broker/server.crt server.key  the broker's TLS certificate
    broker/acl broker/passwd broker/crl.pem   generated for mosquitto on every change
    identities/<username>/client.crt client.key   one folder per identity

The passphrase comes from ``TRACEHUB_DEVICES_PASSPHRASE`` (read by the composition
root or the CLI and passed in). Changes (provision, revoke, rotate) rewrite the
broker files at once; mosquitto re-reads its ACL, password file and CRL on SIGHUP,
so a revoked device is refused on its next connection and its publishes are denied
even before that.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from gateway.devices import pki
from gateway.devices.access import (
    Identity,
    hash_password,
    new_password,
    render_acl,
    render_password_file,
)
from gateway.errors import IdentityError, UnknownIdentity
from sensors.credentials import MqttAuth

PASSPHRASE_ENV = "TRACEHUB_DEVICES_PASSPHRASE"
FORMAT = "tracehub.devices/1"
DEFAULT_BROKER_NAMES = ("localhost", "127.0.0.1", "mosquitto")
_MIN_PASSPHRASE = 8

log = logging.getLogger(__name__)


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


class DeviceRecord(BaseModel):
    """One identity as registered. ``retired`` lists serials to keep on the CRL."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    identity: Identity
    status: Literal["active", "revoked"] = "active"
    provisioned_at: datetime
    revoked_at: datetime | None = None
    cert_serial: int | None = None
    cert_not_after: datetime | None = None
    password_hash: str | None = None
    retired: tuple[tuple[int, datetime], ...] = ()

    @property
    def username(self) -> str:
        return self.identity.username


class Provisioned(BaseModel):
    """What provisioning or rotating hands out; ``password`` is shown this once only."""

    model_config = ConfigDict(frozen=True)

    record: DeviceRecord
    auth: MqttAuth
    password: SecretStr | None = None


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


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["tracehub.devices/1"] = "tracehub.devices/1"
    site: str
    broker_names: tuple[str, ...] = DEFAULT_BROKER_NAMES
    devices: list[DeviceRecord] = Field(default_factory=list)


class DeviceRegistry:
    """Provision, revoke and rotate identities. Build with ``DeviceRegistry.open``."""

    def __init__(self, folder: Path, passphrase: bytes, site: str) -> None:
        if len(passphrase) < _MIN_PASSPHRASE:
            raise IdentityError(
                f"the devices passphrase is shorter than {_MIN_PASSPHRASE} characters; "
                f"set {PASSPHRASE_ENV} to a longer secret"
            )
        self.folder = folder
        self._passphrase = passphrase
        self._site = site

    def __repr__(self) -> str:
        return f"DeviceRegistry({str(self.folder)!r})"

    @classmethod
    def open(cls, folder: Path, passphrase: str | None, site: str = "demo") -> DeviceRegistry:
        """Open (or create) ``folder``; without a passphrase use the folder's own one."""
        if passphrase:
            return cls(folder, passphrase.encode("utf-8"), site)
        path = folder / "passphrase"
        if not path.exists():
            log.warning(
                "%s is not set: generated a passphrase file in %s so the demo runs without "
                "configuration; set the variable in production",
                PASSPHRASE_ENV,
                folder,
            )
            write_private(path, secrets.token_urlsafe(32).encode("ascii"))
        return cls(folder, path.read_bytes().strip(), site)

    # --- the document ---------------------------------------------------------------
    @property
    def _path(self) -> Path:
        return self.folder / "registry.json"

    def _load(self) -> _Document:
        if not self._path.exists():
            return _Document(site=self._site)
        try:
            return _Document.model_validate_json(self._path.read_bytes())
        except (OSError, ValidationError) as exc:
            raise IdentityError(f"{self._path} cannot be read: {exc}; restore it") from exc

    def _save(self, doc: _Document) -> None:
        write_private(self._path, (doc.model_dump_json(indent=2) + "\n").encode())

    @contextmanager
    def _locked(self) -> Iterator[_Document]:
        """One writer at a time (the CLI and a starting hub may race)."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (self.folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                doc = self._load()
                yield doc
                self._save(doc)
                self._write_broker_view(doc)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    @property
    def site(self) -> str:
        return self._load().site

    def records(self) -> list[DeviceRecord]:
        return list(self._load().devices)

    def get(self, username: str) -> DeviceRecord:
        for record in self._load().devices:
            if record.username == username:
                return record
        raise UnknownIdentity(
            f"no identity {username!r} in {self.folder}: provision it first "
            "(`tracehub devices provision`)"
        )

    # --- CA and broker --------------------------------------------------------------
    def _ca(self, doc: _Document) -> tuple[x509.Certificate, pki.PrivateKey]:
        cert_path, key_path = self.folder / "ca/ca.crt", self.folder / "ca/ca.key"
        if not cert_path.exists():
            key = pki.new_key()
            cert = pki.create_ca(doc.site, key)
            write_private(key_path, pki.encrypt_key(key, self._passphrase))
            write_private(cert_path, pki.cert_pem(cert), 0o644)
            return cert, key
        return (
            pki.load_cert(cert_path.read_bytes(), str(cert_path)),
            pki.load_key(key_path.read_bytes(), self._passphrase, str(key_path)),
        )

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca/ca.crt"

    def init(self, broker_names: Sequence[str] = ()) -> None:
        """Create the CA and the broker certificate (for ``broker_names`` plus the
        defaults) if missing or if a name is new; idempotent."""
        with self._locked() as doc:
            names = tuple(dict.fromkeys((*doc.broker_names, *broker_names)))
            ca_cert, ca_key = self._ca(doc)
            cert_path = self.folder / "broker/server.crt"
            if cert_path.exists() and names == doc.broker_names:
                return
            doc.broker_names = names
            key = pki.new_key()
            cert = pki.issue(ca_cert, ca_key, key, "tracehub broker", server_names=names)
            write_private(self.folder / "broker/server.key", pki.encrypt_key(key, self._passphrase))
            write_private(cert_path, pki.cert_pem(cert), 0o644)

    def _write_broker_view(self, doc: _Document) -> None:
        active = [r for r in doc.devices if r.status == "active"]
        broker = self.folder / "broker"
        write_private(broker / "acl", render_acl(r.identity for r in active).encode())
        write_private(
            broker / "passwd",
            render_password_file(
                (r.username, r.password_hash) for r in active if r.password_hash
            ).encode(),
        )
        if (self.folder / "ca/ca.crt").exists():
            ca_cert, ca_key = self._ca(doc)
            revoked = [item for r in doc.devices for item in r.retired]
            write_private(broker / "crl.pem", pki.create_crl(ca_cert, ca_key, revoked), 0o644)

    def refresh(self) -> None:
        """Re-issue the CRL and rewrite the ACL/password files (at every broker start,
        so the CRL never reaches its next-update date)."""
        with self._locked():
            pass

    @property
    def runtime_dir(self) -> Path:
        """Where a local broker's decrypted key and pid file go (mode 0700)."""
        return self.folder / "runtime"

    def broker_files(self) -> BrokerFiles:
        """What mosquitto reads, with the server key decrypted into the runtime folder:
        mosquitto has no passphrase option (docs/security.md says who can read it)."""
        self.init()
        self.refresh()
        broker = self.folder / "broker"
        key = pki.load_key(
            (broker / "server.key").read_bytes(), self._passphrase, str(broker / "server.key")
        )
        runtime = self.runtime_dir
        write_private(runtime / "server.key", pki.plain_key(key))
        return BrokerFiles(
            cafile=self.ca_file,
            certfile=broker / "server.crt",
            keyfile=runtime / "server.key",
            crlfile=broker / "crl.pem",
            acl_file=broker / "acl",
            password_file=broker / "passwd",
            pid_file=runtime / "mosquitto.pid",
        )

    def export_broker(self, dest: Path) -> BrokerFiles:
        """Copy only what a broker needs (no CA key, no device keys, no passphrase) into
        ``dest`` under fixed names: ca.crt server.crt server.key crl.pem acl passwd.
        For a broker in another container (docker-compose mounts ``dest``)."""
        source = self.broker_files()
        files = BrokerFiles(
            cafile=dest / "ca.crt",
            certfile=dest / "server.crt",
            keyfile=dest / "server.key",
            crlfile=dest / "crl.pem",
            acl_file=dest / "acl",
            password_file=dest / "passwd",
            pid_file=dest / "mosquitto.pid",
        )
        for name in ("cafile", "certfile", "keyfile", "crlfile", "acl_file", "password_file"):
            data = getattr(source, name).read_bytes()
            write_private(getattr(files, name), data, 0o600 if name == "keyfile" else 0o644)
        return files

    def reload_broker(self) -> bool:
        """SIGHUP the local broker started on this registry (its pid file), so it re-reads
        the ACL, password file and CRL; False if none runs."""
        try:
            pid = int((self.runtime_dir / "mosquitto.pid").read_text().strip())
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

    # --- identities -----------------------------------------------------------------
    def _identity_dir(self, identity: Identity) -> Path:
        return self.folder / "identities" / identity.username

    def credentials(self, username: str) -> MqttAuth:
        """The client-certificate credentials of an active identity (key stays encrypted;
        its passphrase is the registry's)."""
        record = self.get(username)
        if record.status != "active":
            raise IdentityError(f"identity {username!r} is revoked: provision it again to use it")
        if record.cert_serial is None:
            raise IdentityError(f"identity {username!r} has no certificate (password only)")
        folder = self._identity_dir(record.identity)
        return MqttAuth(
            ca_file=self.ca_file,
            cert_file=folder / "client.crt",
            key_file=folder / "client.key",
            key_password=SecretStr(self._passphrase.decode("utf-8")),
        )

    def _issue(
        self,
        doc: _Document,
        identity: Identity,
        *,
        not_before: datetime | None,
        not_after: datetime | None,
        days: int,
    ) -> x509.Certificate:
        ca_cert, ca_key = self._ca(doc)
        key = pki.new_key()
        cert = pki.issue(
            ca_cert, ca_key, key, identity.username,
            not_before=not_before, not_after=not_after, days=days,
        )  # fmt: skip
        folder = self._identity_dir(identity)
        write_private(folder / "client.key", pki.encrypt_key(key, self._passphrase))
        write_private(folder / "client.crt", pki.cert_pem(cert), 0o644)
        return cert

    def _handout(self, record: DeviceRecord, password: str | None) -> Provisioned:
        if record.cert_serial is not None:
            auth = self.credentials(record.username)
            if password is not None:
                auth = auth.model_copy(
                    update={"username": record.username, "password": SecretStr(password)}
                )
        else:
            assert password is not None
            auth = MqttAuth(
                ca_file=self.ca_file, username=record.username, password=SecretStr(password)
            )
        return Provisioned(
            record=record, auth=auth, password=SecretStr(password) if password else None
        )

    def provision(
        self,
        identity: Identity,
        *,
        certificate: bool = True,
        password: bool = False,
        days: int = 365,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
        now: datetime | None = None,
    ) -> Provisioned:
        """Register ``identity`` and issue its credentials. An active identity is refused
        (rotate it instead); a revoked one gets fresh credentials."""
        if not (certificate or password):
            raise IdentityError("choose a client certificate and/or a password")
        self.init()
        when = now or datetime.now(UTC)
        secret = new_password() if password else None
        with self._locked() as doc:
            previous = next((r for r in doc.devices if r.username == identity.username), None)
            if previous is not None and previous.status == "active":
                raise IdentityError(
                    f"identity {identity.username!r} is already provisioned: use "
                    "`tracehub devices rotate` for new credentials"
                )
            serial = not_after_at = None
            if certificate:
                cert = self._issue(
                    doc, identity, not_before=not_before, not_after=not_after, days=days
                )
                serial, not_after_at = cert.serial_number, cert.not_valid_after_utc
            record = DeviceRecord(
                identity=identity,
                provisioned_at=when,
                cert_serial=serial,
                cert_not_after=not_after_at,
                password_hash=hash_password(secret) if secret else None,
                retired=previous.retired if previous else (),
            )
            doc.devices = [r for r in doc.devices if r.username != identity.username]
            doc.devices.append(record)
        return self._handout(record, secret)

    def ensure(self, identity: Identity) -> DeviceRecord:
        """``identity`` provisioned with a client certificate unless already active."""
        try:
            record = self.get(identity.username)
        except UnknownIdentity:
            return self.provision(identity).record
        if record.status == "active":
            return record
        return self.provision(identity).record

    def revoke(self, username: str, now: datetime | None = None) -> DeviceRecord:
        """Revoke ``username``: its cert goes on the CRL, it leaves the ACL and the
        password file, its private key is deleted."""
        when = now or datetime.now(UTC)
        with self._locked() as doc:
            record = self._find(doc, username)
            if record.status == "revoked":
                return record
            retired = record.retired
            if record.cert_serial is not None:
                retired = (*retired, (record.cert_serial, when))
            updated = record.model_copy(
                update={"status": "revoked", "revoked_at": when, "retired": retired,
                        "password_hash": None}
            )  # fmt: skip
            self._replace(doc, updated)
            (self._identity_dir(record.identity) / "client.key").unlink(missing_ok=True)
        log.info("revoked %s", username)
        return updated

    def rotate(self, username: str, days: int = 365, now: datetime | None = None) -> Provisioned:
        """New key + certificate (the old serial goes on the CRL) and a new password if it
        had one."""
        when = now or datetime.now(UTC)
        with self._locked() as doc:
            record = self._find(doc, username)
            if record.status != "active":
                raise IdentityError(f"identity {username!r} is revoked: provision it again")
            retired = record.retired
            serial = not_after = None
            if record.cert_serial is not None:
                retired = (*retired, (record.cert_serial, when))
                cert = self._issue(doc, record.identity, not_before=None, not_after=None,
                                   days=days)  # fmt: skip
                serial, not_after = cert.serial_number, cert.not_valid_after_utc
            secret = new_password() if record.password_hash else None
            updated = record.model_copy(
                update={
                    "cert_serial": serial,
                    "cert_not_after": not_after,
                    "password_hash": hash_password(secret) if secret else None,
                    "retired": retired,
                }
            )
            self._replace(doc, updated)
        return self._handout(updated, secret)

    def export(self, username: str, dest: Path, bundle_passphrase: str) -> list[Path]:
        """Write a device's bundle (ca.crt, client.crt, client.key re-encrypted with
        ``bundle_passphrase``) for installing on the device."""
        if len(bundle_passphrase) < _MIN_PASSPHRASE:
            raise IdentityError(
                f"the bundle passphrase is shorter than {_MIN_PASSPHRASE} characters"
            )
        auth = self.credentials(username)
        assert auth.cert_file is not None
        assert auth.key_file is not None
        key = pki.load_key(auth.key_file.read_bytes(), self._passphrase, str(auth.key_file))
        out = [dest / "ca.crt", dest / "client.crt", dest / "client.key"]
        write_private(out[0], self.ca_file.read_bytes(), 0o644)
        write_private(out[1], auth.cert_file.read_bytes(), 0o644)
        write_private(out[2], pki.encrypt_key(key, bundle_passphrase.encode("utf-8")))
        return out

    @staticmethod
    def _find(doc: _Document, username: str) -> DeviceRecord:
        for record in doc.devices:
            if record.username == username:
                return record
        raise UnknownIdentity(f"no identity {username!r}: see `tracehub devices list`")

    @staticmethod
    def _replace(doc: _Document, record: DeviceRecord) -> None:
        doc.devices = [record if r.username == record.username else r for r in doc.devices]

    def summary(self) -> list[dict[str, Any]]:
        """One row per identity for listings (no secrets)."""
        return [
            {
                "identity": r.username,
                "kind": r.identity.kind,
                "status": r.status,
                "auth": "+".join(
                    a for a, on in (("cert", r.cert_serial), ("password", r.password_hash)) if on
                ),
                "cert_not_after": r.cert_not_after.isoformat() if r.cert_not_after else None,
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in self._load().devices
        ]
