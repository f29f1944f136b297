"""Where a running hub can be reached: one block printed at start, one file for tools.

``tracehub run`` prints ``Endpoints.lines()`` once it serves and writes the same values
to ``<state>/endpoints.json`` (removed at a clean stop; one left by a killed hub names a
pid that no longer runs, which ``tracehub status`` says). Nothing here carries a
secret: database URLs lose their passwords (``redact``) before they are kept.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

ENDPOINTS_FILE = "endpoints.json"
# Query parameters that carry credentials in database and service URLs.
SECRET_PARAMS = frozenset({"password", "pass", "pwd", "token", "secret", "key", "p"})


def redact(url: str) -> str:
    """``url`` without its password (user kept) and without credential query values."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.netloc.rsplit("@", 1)[1]
            url = url.replace(parts.netloc, f"{parts.username or ''}:***@{host}", 1)
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMS for k, _ in pairs):
            hidden = [(k, "***" if k.lower() in SECRET_PARAMS else v) for k, v in pairs]
            url = url.replace(f"?{parts.query}", f"?{urlencode(hidden, safe='*/:')}", 1)
    except ValueError:
        return "(unparseable URL, not shown)"  # it might hold a password in a shape we miss
    # Rebuilt by replacement, not urlunsplit: that turns sqlite:///x into sqlite:/x.
    return url


class Broker(BaseModel):
    """The MQTT broker devices publish to."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int
    tls: bool
    password_port: int | None = None
    spawned: bool = False

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


class Endpoints(BaseModel):
    """Every address of one running hub (format 1)."""

    model_config = ConfigDict(frozen=True)

    format: Literal[1] = 1
    pid: int
    state_dir: str
    roles: str = "all"  # tracehub.roles: what this process runs
    instance: str | None = None  # its row in `tracehub status`'s instances
    web: str | None  # None: not a web instance
    mqtt: Broker | None  # None: not a gateway instance
    influx: str
    influx_database: str
    influx_spawned: bool = False
    chain: str
    rpc_url: str | None = None
    records: str
    ledger: str
    grafana: str | None = None

    @property
    def console(self) -> str | None:
        return None if self.web is None else f"{self.web}/console"

    @property
    def health(self) -> str | None:
        return None if self.web is None else f"{self.web}/healthz"

    def rows(self) -> list[tuple[str, str]]:
        """(what, where) pairs, in the order a person looks for them."""
        rows = [] if self.roles == "all" else [("roles", f"{self.roles}  ({self.instance})")]
        if self.web is not None:
            rows += [("web", self.web), ("console", f"{self.web}/console"),
                     ("health", f"{self.web}/healthz")]  # fmt: skip
        if self.mqtt is not None:
            rows += self._broker_rows(self.mqtt)
        influx = "spawned by the hub" if self.influx_spawned else "named in the settings"
        rows += [
            ("InfluxDB", f"{self.influx}  (database {self.influx_database}; {influx})"),
            ("chain", f"{self.rpc_url or '-'}  {self.chain}"),
            ("records", self.records),
            ("ledger", self.ledger),
            ("Grafana", self.grafana or "not configured (TRACEHUB_GRAFANA_URL)"),
        ]
        return rows

    @staticmethod
    def _broker_rows(mqtt: Broker) -> list[tuple[str, str]]:
        spawned = "spawned by the hub" if mqtt.spawned else "named in the settings"
        if mqtt.tls:
            broker = f"{mqtt.url}  (TLS, client certificates; {spawned})"
        else:
            broker = f"{mqtt.url}  (plain: no TLS, no authentication; {spawned})"
        rows = [("MQTT", broker)]
        if mqtt.password_port is not None:
            rows.append(("", f"mqtts://{mqtt.host}:{mqtt.password_port}  (TLS, username "
                         "and password)"))  # fmt: skip
        return rows

    def lines(self, indent: str = "  ") -> list[str]:
        width = max(len(what) for what, _ in self.rows())
        return [f"{indent}{what:<{width}}  {where}" for what, where in self.rows()]


def endpoints_file(state_dir: Path) -> Path:
    return state_dir / ENDPOINTS_FILE


def write_endpoints(state_dir: Path, endpoints: Endpoints) -> Path:
    """Write ``<state>/endpoints.json`` whole (a reader never sees half of it)."""
    path = endpoints_file(state_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(endpoints.model_dump(), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def forget_endpoints(state_dir: Path) -> None:
    with contextlib.suppress(OSError):
        endpoints_file(state_dir).unlink()


def read_endpoints(state_dir: Path) -> Endpoints | None:
    """What a hub started on ``state_dir`` wrote; None if nothing (readable) is there."""
    try:
        return Endpoints.model_validate_json(endpoints_file(state_dir).read_bytes())
    except (OSError, ValidationError):
        return None
