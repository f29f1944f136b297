"""The configuration file of a spawned mosquitto, rendered from plain values (no I/O).

``tracehub.services.Mosquitto`` writes it before every start. Kept apart from the
launcher so the listener and access-control lines can be read (and tested) on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BrokerTls:
    """Files for mosquitto's TLS listeners and access control (from the device registry:
    ``gateway.devices.registry.DeviceRegistry.broker_files``)."""

    cafile: Path
    certfile: Path
    keyfile: Path
    acl_file: Path
    crlfile: Path | None = None
    password_file: Path | None = None
    pid_file: Path | None = None


def tls_lines(tls: BrokerTls, host: str, port: int, password_port: int) -> list[str]:
    """A certificate listener on ``port``; with a password file, a password one too."""
    common = [f"cafile {tls.cafile}", f"certfile {tls.certfile}", f"keyfile {tls.keyfile}"]
    if tls.crlfile is not None:
        common.append(f"crlfile {tls.crlfile}")
    lines = [
        "per_listener_settings false",
        "allow_anonymous false",
        f"acl_file {tls.acl_file}",
        f"listener {port} {host}",
        *common,
        "require_certificate true",
        "use_identity_as_username true",
        # The client id is the identity: no one can take over another's session.
        "use_username_as_clientid true",
    ]
    if tls.pid_file is not None:
        # `tracehub devices` finds the broker to reload (SIGHUP) through it.
        lines.insert(0, f"pid_file {tls.pid_file}")
    if tls.password_file is not None:
        lines[2:2] = [f"password_file {tls.password_file}"]
        lines += [
            f"listener {password_port} {host}",
            *common,
            "require_certificate false",
            "use_username_as_clientid true",
        ]
    return lines


@dataclass(frozen=True)
class MosquittoConf:
    """What a spawned broker listens on, where it keeps its data, and as whom it runs."""

    host: str
    port: int
    password_port: int
    data: Path
    log: Path
    max_queued_messages: int
    tls: BrokerTls | None = None
    as_root: bool = False

    def render(self) -> str:
        listeners = (
            tls_lines(self.tls, self.host, self.port, self.password_port)
            if self.tls is not None
            else [f"listener {self.port} {self.host}", "allow_anonymous true"]
        )
        lines = [
            *listeners,
            "persistence true",
            f"persistence_location {self.data}/",
            "autosave_interval 1",
            # The defaults (1000 queued, 20 in flight) silently drop QoS 1 messages
            # for a slow or offline persistent subscriber: far above any test load.
            f"max_queued_messages {self.max_queued_messages}",
            "max_queued_bytes 0",
            "max_inflight_messages 1000",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
        ]
        if self.tls is not None:
            # Who connected, who was refused, and the reload marker ``reload()`` awaits.
            lines += [
                "log_type notice",
                "log_type information",
                "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            ]
        if self.as_root:
            # Started as root mosquitto switches to the `mosquitto` user, which cannot
            # write our folder (and the switch would clear the parent-death signal);
            # keep the current user instead.
            lines.append("user root")
        return "\n".join(lines) + "\n"
