"""The device registry: provision, revoke and rotate identities, and hand out credentials.

The registry keeps its files in one folder (gateway/devices/folder.py draws it) and
rewrites the broker's view (gateway/devices/broker.py) on every change, inside the
same lock as the document.

The passphrase comes from ``TRACEHUB_DEVICES_PASSPHRASE`` (read by the composition
root or the CLI and passed in).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from gateway.devices import pki
from gateway.devices.access import Identity, hash_password, new_password
from gateway.devices.broker import BrokerFiles, BrokerView
from gateway.devices.expiry import Expiry, reissued, retiring
from gateway.devices.folder import RegistryFolder, write_private
from gateway.devices.records import DeviceRecord, Placement, RegistryDocument
from gateway.errors import IdentityError, UnknownIdentity
from sensors.credentials import MqttAuth

PASSPHRASE_ENV = "TRACEHUB_DEVICES_PASSPHRASE"
_MIN_PASSPHRASE = 8

log = logging.getLogger(__name__)


PLACED_KINDS = ("temperature", "rfid")  # a probe's location, a reader's read point


def _check_placeable(identity: Identity, location: str) -> None:
    if identity.kind not in PLACED_KINDS:
        raise IdentityError(
            f"{identity.username} is a {identity.kind} identity: only temperature probes and "
            "RFID readers are placed (an AGV reports its own position)"
        )
    try:
        Placement(location=location, since=datetime.now(UTC))
    except ValidationError as exc:
        raise IdentityError(f"location {location!r}: {exc.errors()[0]['msg']}") from exc


class Provisioned(BaseModel):
    """What provisioning or rotating hands out; ``password`` is shown this once only."""

    model_config = ConfigDict(frozen=True)

    record: DeviceRecord
    auth: MqttAuth
    password: SecretStr | None = None


class DeviceRegistry:
    """Provision, revoke and rotate identities. Build with ``DeviceRegistry.open``."""

    def __init__(self, folder: Path, passphrase: bytes, site: str) -> None:
        if len(passphrase) < _MIN_PASSPHRASE:
            raise IdentityError(
                f"the devices passphrase is shorter than {_MIN_PASSPHRASE} characters; "
                f"set {PASSPHRASE_ENV} to a longer secret"
            )
        self.folder = folder
        self._files = RegistryFolder(folder, passphrase)
        self._broker = BrokerView(self._files)
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
    @contextmanager
    def _locked(self, now: datetime | None = None) -> Iterator[RegistryDocument]:
        """The document to change; saved, with the broker's view (its CRL issued at
        ``now``), if the change succeeds."""
        with self._files.lock():
            doc = self._files.load(self._site)
            yield doc
            self._files.save(doc)
            self._broker.write(doc, now)

    @property
    def site(self) -> str:
        return self._files.load(self._site).site

    def records(self) -> list[DeviceRecord]:
        return list(self._files.load(self._site).devices)

    def get(self, username: str) -> DeviceRecord:
        record = self._files.load(self._site).record(username)
        if record is None:
            raise UnknownIdentity(
                f"no identity {username!r} in {self.folder}: provision it first "
                "(`tracehub devices provision`)"
            )
        return record

    # --- CA and broker --------------------------------------------------------------
    @property
    def ca_file(self) -> Path:
        return self._files.ca_cert

    def init(self, broker_names: Sequence[str] = (), *, days: int = 365, renew: bool = False,
             now: datetime | None = None) -> bool:  # fmt: skip
        """Create the CA and the broker certificate (for ``broker_names`` plus the
        defaults, valid ``days``) if missing, if a name is new or to ``renew`` it;
        idempotent. True if a broker certificate was issued."""
        with self._locked(now) as doc:
            names = tuple(dict.fromkeys((*doc.broker_names, *broker_names)))
            return self._broker.certify(doc, names, days=days, renew=renew, now=now)

    def refresh(self, now: datetime | None = None) -> None:
        """Re-issue the CRL (valid a year from ``now``) and rewrite the ACL/password files:
        at every broker start and renewal, so the CRL never reaches its next update."""
        with self._locked(now):
            pass

    def expiries(self) -> list[Expiry]:
        """Every dated item the broker depends on (see gateway/devices/expiry.py)."""
        return self._files.expiries(self._site)

    @property
    def runtime_dir(self) -> Path:
        """Where a local broker's decrypted key and pid file go (mode 0700)."""
        return self._files.runtime

    def broker_files(self) -> BrokerFiles:
        """What mosquitto reads, with the server key decrypted into the runtime folder."""
        self.init()
        self.refresh()
        return self._broker.decrypted()

    def export_broker(self, dest: Path) -> BrokerFiles:
        """Copy only what a broker needs (no CA key, no device keys, no passphrase) into
        ``dest`` under fixed names: ca.crt server.crt server.key crl.pem acl passwd.
        For a broker in another container (docker-compose mounts ``dest``)."""
        return self._broker.export(self.broker_files(), dest)

    def reload_broker(self) -> bool:
        """SIGHUP the local broker started on this registry (its pid file), so it re-reads
        the ACL, password file and CRL; False if none runs."""
        return self._broker.reload()

    # --- identities -----------------------------------------------------------------
    def credentials(self, username: str) -> MqttAuth:
        """The client-certificate credentials of an active identity (key stays encrypted;
        its passphrase is the registry's)."""
        record = self.get(username)
        if record.status != "active":
            raise IdentityError(f"identity {username!r} is revoked: provision it again to use it")
        if record.cert_serial is None:
            raise IdentityError(f"identity {username!r} has no certificate (password only)")
        folder = self._files.identity(record.username)
        return MqttAuth(
            ca_file=self.ca_file,
            cert_file=folder / "client.crt",
            key_file=folder / "client.key",
            key_password=self._files.key_password,
        )

    def _issue(
        self,
        doc: RegistryDocument,
        identity: Identity,
        *,
        not_before: datetime | None,
        not_after: datetime | None,
        days: int,
        now: datetime | None = None,
    ) -> x509.Certificate:
        ca_cert, ca_key = self._files.ca(doc.site)
        key = pki.new_key()
        cert = pki.issue(
            ca_cert, ca_key, key, identity.username,
            not_before=not_before, not_after=not_after, days=days, now=now,
        )  # fmt: skip
        folder = self._files.identity(identity.username)
        self._files.write_key(folder / "client.key", key)
        self._files.write_cert(folder / "client.crt", cert)
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
        location: str | None = None,
    ) -> Provisioned:
        """Register ``identity`` and issue its credentials. An active identity is refused
        (rotate it instead); a revoked one gets fresh credentials. ``location``: where a
        temperature probe or RFID reader is placed from now on (a probe's readings are
        stored there, a reader's reads observed there)."""
        if not (certificate or password):
            raise IdentityError("choose a client certificate and/or a password")
        if location is not None:
            _check_placeable(identity, location)
        self.init()
        when = now or datetime.now(UTC)
        secret = new_password() if password else None
        with self._locked() as doc:
            previous = doc.record(identity.username)
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
                # A re-provisioned probe keeps its history: old readings stay where they were.
                placements=previous.placements if previous else (),
            )
            if location is not None:
                record = record.placed(location, when)
            doc.add(record)
        return self._handout(record, secret)

    def assign(self, username: str, location: str, at: datetime | None = None) -> DeviceRecord:
        """Place the temperature probe or RFID reader ``username`` at ``location`` from
        ``at`` (default now) on: readings (reads) it takes from then are stored (observed)
        there, until its next placement. A placement at the same instant is replaced."""
        when = at or datetime.now(UTC)
        if when.tzinfo is None:
            raise IdentityError("the placement time needs a UTC offset, e.g. 2026-11-22T10:00Z")
        with self._locked() as doc:
            record = self._find(doc, username)
            _check_placeable(record.identity, location)
            if record.status != "active":
                raise IdentityError(f"identity {username!r} is revoked: provision it again")
            updated = record.placed(location, when)
            doc.replace(updated)
        log.info("placed %s at %s from %s", username, location, when.isoformat())
        return updated

    def ensure(
        self, identity: Identity, location: str | None = None, since: datetime | None = None
    ) -> DeviceRecord:
        """``identity`` provisioned with a client certificate unless already active; with
        ``location``, placed there (from ``since``, default now) unless it already is."""
        try:
            record = self.get(identity.username)
        except UnknownIdentity:
            record = self.provision(identity, now=since, location=location).record
        if record.status != "active":
            record = self.provision(identity, now=since, location=location).record
        if location is not None and record.location_at(since or datetime.now(UTC)) != location:
            record = self.assign(identity.username, location, since)
        return record

    def revoke(self, username: str, now: datetime | None = None) -> DeviceRecord:
        """Revoke ``username``: its cert goes on the CRL, it leaves the ACL and the
        password file, its private key is deleted."""
        when = now or datetime.now(UTC)
        with self._locked() as doc:
            record = self._find(doc, username)
            if record.status == "revoked":
                return record
            updated = record.model_copy(
                update={"status": "revoked", "revoked_at": when, "password_hash": None,
                        "retired": retiring(record, when), "superseded": ()}
            )  # fmt: skip
            doc.replace(updated)
            (self._files.identity(username) / "client.key").unlink(missing_ok=True)
        log.info("revoked %s", username)
        return updated

    def rotate(self, username: str, days: int = 365, now: datetime | None = None) -> Provisioned:
        """New key + certificate (every older serial goes on the CRL at once: use it when
        a key may be compromised) and a new password if it had one."""
        return self._reissue(username, days, now, retire=True)

    def renew(self, username: str, days: int = 365, now: datetime | None = None) -> Provisioned:
        """New key + certificate before the current one expires; the old certificate
        stays valid until its own end (the device keeps connecting until its new bundle is
        installed) and the password is kept. Retired on revoke or rotate."""
        return self._reissue(username, days, now, retire=False)

    def _reissue(
        self, username: str, days: int, now: datetime | None, *, retire: bool
    ) -> Provisioned:
        when = now or datetime.now(UTC)
        with self._locked(now) as doc:
            record = self._find(doc, username)
            if record.status != "active":
                raise IdentityError(f"identity {username!r} is revoked: provision it again")
            updated = record.model_copy(update={"retired": retiring(record, when)})
            if record.cert_serial is not None:
                cert = self._issue(doc, record.identity, not_before=None, not_after=None,
                                   days=days, now=now)  # fmt: skip
                serial, end = cert.serial_number, cert.not_valid_after_utc
                updated = reissued(record, serial, end, when, retire=retire)
            secret = new_password() if record.password_hash and retire else None
            if secret:
                updated = updated.model_copy(update={"password_hash": hash_password(secret)})
            doc.replace(updated)
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
        key = self._files.read_key(auth.key_file)
        out = [dest / "ca.crt", dest / "client.crt", dest / "client.key"]
        write_private(out[0], self.ca_file.read_bytes(), 0o644)
        write_private(out[1], auth.cert_file.read_bytes(), 0o644)
        write_private(out[2], pki.encrypt_key(key, bundle_passphrase.encode("utf-8")))
        return out

    @staticmethod
    def _find(doc: RegistryDocument, username: str) -> DeviceRecord:
        record = doc.record(username)
        if record is None:
            raise UnknownIdentity(f"no identity {username!r}: see `tracehub devices list`")
        return record

    def summary(self) -> list[dict[str, Any]]:
        """One row per identity for listings (no secrets); ``location``: where it is now."""
        now = datetime.now(UTC)
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
                "location": r.location_at(now),
            }
            for r in self._files.load(self._site).devices
        ]
