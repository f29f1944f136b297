"""How an MQTT client proves who it is: TLS (site CA, client certificate) and/or a
username and password.

A device, a simulator or the gateway holds one ``MqttAuth``; ``apply_auth`` sets it on
a paho client before it connects. The private key stays encrypted on disk: its
passphrase is handed to OpenSSL here and never logged (``SecretStr``).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Self

import paho.mqtt.client as mqtt
from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from sensors.errors import CredentialsError


class MqttAuth(BaseModel):
    """TLS trust anchor plus a client certificate and/or username/password."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None
    key_password: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together: set both or neither")
        if self.cert_file is None and self.username is None:
            raise ValueError(
                "no identity: set cert_file/key_file (client certificate) or username/password"
            )
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: set both or neither")
        return self

    def __repr__(self) -> str:
        who = self.username or (self.cert_file.name if self.cert_file else "?")
        return f"MqttAuth({who!r}, ca={str(self.ca_file)!r})"


AuthFor = Callable[[str], "MqttAuth"]
"""The credentials of the device that publishes on a topic (per-device connections)."""


def apply_auth(client: mqtt.Client, auth: MqttAuth) -> None:
    """Configure ``client`` for TLS (hostname checked against the broker's certificate)
    and the identity in ``auth``; raise CredentialsError naming the file at fault."""
    password = auth.key_password.get_secret_value() if auth.key_password else None
    try:
        client.tls_set(
            ca_certs=str(auth.ca_file),
            certfile=str(auth.cert_file) if auth.cert_file else None,
            keyfile=str(auth.key_file) if auth.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
            keyfile_password=password,
        )
    except FileNotFoundError as exc:
        raise CredentialsError(
            f"credential file {exc.filename} does not exist: provision the device "
            "(`tracehub devices provision`) or fix the path"
        ) from exc
    except (ssl.SSLError, OSError) as exc:
        # OpenSSL's message never contains the passphrase; the paths tell where to look.
        raise CredentialsError(
            f"cannot load the TLS credentials (ca {auth.ca_file}, cert {auth.cert_file}, "
            f"key {auth.key_file}): {exc}; check the files and the key passphrase"
        ) from exc
    if auth.username is not None and auth.password is not None:
        client.username_pw_set(auth.username, auth.password.get_secret_value())
