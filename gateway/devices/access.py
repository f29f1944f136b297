"""Who may do what on the broker: identities, their topic grants, and mosquitto's files.

Pure: an ``Identity`` names one device or gateway; ``grants`` says which topics it may
write (publish) and read (subscribe); ``render_acl`` and ``password_line`` produce
mosquitto's ``acl_file`` and ``password_file`` (the ``mosquitto_passwd`` format, so
the broker's own tool can edit the file too).

The identity's ``username`` is the subject CN of its client certificate; mosquitto
takes it as the username (``use_identity_as_username``) and as the client id
(``use_username_as_clientid``), so a device can neither claim another's topics nor
take over another client's session by reusing its client id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

from gateway.errors import IdentityError
from sensors.agv import INTERFACE, MAJOR
from sensors.fields import check_id
from sensors.topics import ROOT

IdentityKind = Literal["temperature", "rfid", "agv", "gateway"]
KINDS: tuple[str, ...] = ("temperature", "rfid", "agv", "gateway")
DEAD_LETTER_ROOT = "tracehub/deadletter"
_AGV_LEVEL_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MAX_CN = 64  # X.509 upper bound for a commonName

# mosquitto 2.0's password hash: PBKDF2-HMAC-SHA512, 101 iterations, 12-byte salt ($7$).
_PBKDF2_ITERATIONS = 101
_SALT_BYTES = 12


class Grant(BaseModel):
    """``write`` = may publish on ``topic``; ``read`` = may subscribe to / receive it."""

    model_config = ConfigDict(frozen=True)

    access: Literal["read", "write"]
    topic: str


class Identity(BaseModel):
    """A device (probe, reader, AGV) or a gateway instance, as the broker knows it.

    * temperature / rfid: ``site`` + ``device_id`` (the topic's ids)
    * agv: ``manufacturer`` + ``device_id`` (the VDA 5050 serial number)
    * gateway: ``device_id`` = its MQTT client id (also the dead-letter topic level)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: IdentityKind
    device_id: str
    site: str | None = None
    manufacturer: str | None = None

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if self.kind == "agv":
            if self.manufacturer is None or not _AGV_LEVEL_RE.fullmatch(self.manufacturer):
                raise ValueError("manufacturer is required for an AGV: 1-64 of A-Z a-z 0-9 _ . : -")
            if not _AGV_LEVEL_RE.fullmatch(self.device_id):
                raise ValueError(
                    f"device_id (serialNumber) {self.device_id!r} is not valid: "
                    "use 1-64 of A-Z a-z 0-9 _ . : -"
                )
            if self.site is not None:
                raise ValueError("site is not used for an AGV (VDA 5050 topics carry none)")
        else:
            check_id(self.device_id, "device_id")
            if self.manufacturer is not None:
                raise ValueError(f"manufacturer is only for AGVs, not for a {self.kind}")
            if self.kind == "gateway":
                if self.site is not None:
                    raise ValueError("site is not used for a gateway (it reads every site)")
            elif self.site is None:
                raise ValueError(f"site is required for a {self.kind} device")
            else:
                check_id(self.site, "site")
        if len(self.username) > _MAX_CN:
            raise ValueError(
                f"identity {self.username!r} is longer than {_MAX_CN} characters "
                "(the certificate's common name): use shorter ids"
            )
        return self

    @property
    def username(self) -> str:
        """The broker username / certificate CN / client id; '/' cannot occur in an id,
        so two identities never share one."""
        if self.kind == "agv":
            return f"agv/{self.manufacturer}/{self.device_id}"
        if self.kind == "gateway":
            return f"gateway/{self.device_id}"
        return f"{self.site}/{self.kind}/{self.device_id}"

    @classmethod
    def parse(cls, username: str) -> Identity:
        """The identity a username names (inverse of ``username``)."""
        parts = username.split("/")
        try:
            if len(parts) == 2 and parts[0] == "gateway":
                return cls(kind="gateway", device_id=parts[1])
            if len(parts) == 3 and parts[0] == "agv":
                return cls(kind="agv", manufacturer=parts[1], device_id=parts[2])
            if len(parts) == 3 and parts[1] in ("temperature", "rfid"):
                return cls(kind=parts[1], site=parts[0], device_id=parts[2])
        except ValueError as exc:
            raise IdentityError(f"identity {username!r}: {exc}") from exc
        raise IdentityError(
            f"identity {username!r} is not one of {{site}}/temperature/{{id}}, "
            "{site}/rfid/{id}, agv/{manufacturer}/{serial}, gateway/{name}"
        )

    @property
    def grants(self) -> tuple[Grant, ...]:
        """Least privilege: a device writes its own telemetry topic(s) and reads nothing
        (an AGV reads only its own order/instantActions); a gateway reads telemetry and
        writes only its own dead-letter topics."""
        if self.kind in ("temperature", "rfid"):
            return (
                Grant(access="write", topic=f"{ROOT}/{self.site}/{self.kind}/{self.device_id}"),
            )
        if self.kind == "agv":
            base = f"{INTERFACE}/{MAJOR}/{self.manufacturer}/{self.device_id}"
            return (
                *(Grant(access="write", topic=f"{base}/{t}")
                  for t in ("state", "connection", "visualization", "factsheet")),
                *(Grant(access="read", topic=f"{base}/{t}") for t in ("order", "instantActions")),
            )  # fmt: skip
        return (
            Grant(access="read", topic=f"{ROOT}/#"),
            Grant(access="read", topic=f"{INTERFACE}/{MAJOR}/+/+/state"),
            Grant(access="read", topic=f"{INTERFACE}/{MAJOR}/+/+/connection"),
            Grant(access="write", topic=f"{DEAD_LETTER_ROOT}/{self.device_id}/#"),
        )


def identity_for_topic(topic: str) -> Identity:
    """The only identity allowed to publish on a device topic (tracehub or VDA 5050)."""
    parts = topic.split("/")
    try:
        if len(parts) == 5 and "/".join(parts[:2]) == ROOT and parts[3] in ("temperature", "rfid"):
            kind: IdentityKind = "temperature" if parts[3] == "temperature" else "rfid"
            return Identity(kind=kind, site=parts[2], device_id=parts[4])
        if len(parts) == 5 and parts[:2] == [INTERFACE, MAJOR]:
            return Identity(kind="agv", manufacturer=parts[2], device_id=parts[3])
    except ValueError as exc:
        raise IdentityError(f"topic {topic!r}: {exc}") from exc
    raise IdentityError(f"topic {topic!r} is not a device topic: no identity publishes on it")


def render_acl(identities: Iterable[Identity]) -> str:
    """mosquitto ``acl_file``: one ``user`` block per active identity, nothing for anyone
    else (an identity missing here may connect but neither publish nor subscribe)."""
    lines = [
        "# Generated by `tracehub devices`; edits are overwritten. One block per identity:",
        "# devices write only their own topics, the gateway reads telemetry.",
    ]
    for identity in sorted(identities, key=lambda i: i.username):
        lines += ["", f"user {identity.username}"]
        lines += [f"topic {g.access} {g.topic}" for g in identity.grants]
    return "\n".join(lines) + "\n"


def hash_password(password: str, salt: bytes | None = None) -> str:
    """mosquitto 2.0's ``$7$`` PBKDF2-SHA512 hash of ``password`` (as mosquitto_passwd)."""
    if not password:
        raise IdentityError("password must not be empty")
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, _PBKDF2_ITERATIONS)
    encoded_salt, encoded = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"$7${_PBKDF2_ITERATIONS}${encoded_salt}${encoded}"


def check_password(password: str, hashed: str) -> bool:
    """True if ``password`` matches a ``$7$`` hash (from us or from mosquitto_passwd)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7":
        raise IdentityError("password hash is not mosquitto's $7$ format: reset the password")
    iterations, salt, digest = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
    computed = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return hmac.compare_digest(computed, digest)


def render_password_file(hashes: Iterable[tuple[str, str]]) -> str:
    """mosquitto ``password_file`` lines ``username:hash``."""
    return "".join(f"{user}:{hashed}\n" for user, hashed in sorted(hashes))


def new_password() -> str:
    """A random device password (~190 bits), safe in any MQTT client's config."""
    return secrets.token_urlsafe(24)
