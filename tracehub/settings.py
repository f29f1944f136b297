"""Settings for every part of the hub, one environment prefix per part.

Each value has a default for the embedded mode (``make demo``): services that
are left unset (``None``) are spawned locally by :mod:`tracehub.services`, the
records live in SQLite under the state folder and the chain is a local anvil
whose state persists under the state folder (the in-process EVM, which vanishes
at exit, only for ``tracehub demo`` and tests that build a hub directly).
Setting the environment variable points that part at real infrastructure
instead. Settings are built once, in :func:`load_settings`; nothing here reads
the environment at import time.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tracehub.retentionsettings import RetentionSettings
from tracehub.spawnsettings import SpawnSettings
from tracehub.subscriptionsettings import SubscriptionSettings

if TYPE_CHECKING:
    from notify.channel import Channel, ChannelKind
    from web.limits import Limits


class MqttSettings(BaseSettings):
    """``TRACEHUB_MQTT_*``: the broker devices publish to."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_MQTT_", frozen=True)

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, description="unset: spawn a local mosquitto")
    client_id: str = Field(
        default="tracehub-gateway",
        description="the gateway's name: its identity is gateway/{client_id} in the device "
        "registry, which is also the MQTT client id it connects with over TLS",
    )
    security: Literal["tls", "plain"] = Field(
        default="tls",
        description="tls (default, spawned or named broker): TLS + the gateway's own "
        "certificate from the device registry; plain: no TLS, no auth, explicit opt-out, "
        "warned at every start and refused for a non-loopback host unless "
        "TRACEHUB_MQTT_ALLOW_REMOTE_PLAIN is set (docs/security.md). 'auto' (older "
        "configurations) means tls",
    )
    allow_remote_plain: bool = Field(
        default=False,
        description="let security=plain talk to a broker that is not on loopback (anyone on "
        "that network can then publish as any device and read every reading)",
    )

    @field_validator("security", mode="before")
    @classmethod
    def _auto_is_tls(cls, value: object) -> object:
        # 'auto' used to mean plain for a named broker: fail closed instead.
        return "tls" if value == "auto" else value

    @model_validator(mode="after")
    def _plain_stays_local(self) -> Self:
        if self.security == "plain" and not self.allow_remote_plain and not is_loopback(self.host):
            raise ValueError(
                f"TRACEHUB_MQTT_SECURITY=plain with the non-loopback broker {self.host!r}: "
                "anyone on that network could publish as any device. Use tls (the default; "
                "install the broker files of `tracehub devices init`), or set "
                "TRACEHUB_MQTT_ALLOW_REMOTE_PLAIN=true if the network itself is trusted"
            )
        return self


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses; no DNS lookup (a name that resolves to
    loopback today may not tomorrow, so only these literal forms count)."""
    if host.lower() in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class InfluxSettings(BaseSettings):
    """``TRACEHUB_INFLUX_*``: the InfluxDB v1 HTTP API (1.x, or 2.x/3.x v1 endpoints)."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_INFLUX_", frozen=True)

    url: str | None = Field(default=None, description="unset: spawn a local influxd")
    database: str = "tracehub"


class RecordsSettings(BaseSettings):
    """``TRACEHUB_RECORDS_*``: the records database (SQLAlchemy URL)."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_RECORDS_", frozen=True)

    url: str | None = Field(default=None, description="unset: SQLite under the state folder")
    future_tolerance_s: float | None = Field(
        default=300.0,
        gt=0,
        description="reject EPCIS events dated more than this many seconds after now "
        "(a device clock running ahead); unset: accept any time",
    )
    near_expiry_days: int = Field(
        default=7,
        ge=0,
        description="warn on the lot page (and `tracehub records expiring`) this many days "
        "before a lot's expiry",
    )


class ChainSettings(BaseSettings):
    """``TRACEHUB_CHAIN_*``: where batch roots are anchored."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_CHAIN_", frozen=True)

    rpc_url: str | None = Field(
        default=None,
        description="unset: `tracehub run` spawns a local anvil whose chain persists under "
        "<state>/chain (`tracehub demo`: the in-process EVM, lost at exit)",
    )
    dev_node: bool = Field(
        default=False,
        description="the node's unlocked development account deploys the anchor contract and "
        "funds the anchoring account (anvil; set for the anvil `tracehub run` spawns)",
    )
    private_key: SecretStr | None = None
    contract: str | None = Field(default=None, description="unset: deploy a new anchor contract")
    anchor_interval_s: float = Field(default=5.0, gt=0)
    max_batch: int = Field(default=1000, gt=0)


class LedgerSettings(BaseSettings):
    """``TRACEHUB_LEDGER_*``: signing keys, the ledger store and the anchoring policy.

    The batch policy's N and T are ``TRACEHUB_CHAIN_MAX_BATCH`` and
    ``TRACEHUB_CHAIN_ANCHOR_INTERVAL_S``.
    """

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_LEDGER_", frozen=True)

    url: str | None = Field(default=None, description="unset: the records database")
    key_passphrase: SecretStr | None = Field(
        default=None, description="unset: a generated passphrase file (demo only)"
    )
    keys_dir: Path | None = Field(default=None, description="unset: <state>/ledger-keys")
    confirmations: int = Field(default=1, ge=1)
    max_fee_gwei: float = Field(default=200.0, gt=0)
    gas_limit_ceiling: int = Field(default=200_000, ge=21_000)
    lease_ttl_s: float = Field(default=15.0, gt=0)


class WebSettings(BaseSettings):
    """``TRACEHUB_WEB_*``: the consumer pages and APIs."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_WEB_", frozen=True)

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = Field(
        default=None,
        description="the site's public URL: the Host header must name its host (or a "
        "loopback name), else 400; unset: http://host:port, and any Host is accepted",
    )
    public_read: bool = Field(
        default=False,
        description="serve the EPCIS and lot read API (/epcis/events, /lots/...) without a "
        "token; false: a client token with the 'read' scope (`tracehub clients add`). The "
        "demo sets it",
    )
    public_evidence: bool = Field(
        default=True,
        description="offer each lot's evidence bundle (its EPCIS events, proofs, anchors) "
        "for download on the consumer page; false: auditors only",
    )
    page_ttl_s: float = Field(default=30.0, ge=0, description="how long a rendered page is kept")
    capture_events: int = Field(
        default=1000,
        ge=1,
        description="events per capture document (advertised as GS1-EPCIS-Capture-Limit)",
    )
    capture_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="bytes per capture document (GS1-EPCIS-Capture-File-Size-Limit)",
    )
    rpc_rate_per_s: float = Field(
        default=50.0, gt=0, description="/rpc calls per second per client IP (sustained)"
    )

    def limits(self) -> Limits:
        """The HTTP surface's bounds (``web.limits``), with the ones set here."""
        from web.limits import Limits  # the web stack loads only where it serves

        return Limits(
            capture_events=self.capture_events,
            capture_body_bytes=self.capture_body_bytes,
            rpc_rate_per_s=self.rpc_rate_per_s,
        )


class HubSettings(BaseSettings):
    """``TRACEHUB_*``: the whole hub."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_", frozen=True)

    state_dir: Path = Path(".state")
    site: str = "demo"
    console_idle_min: float = Field(
        default=15.0, gt=0, description="a console session unused this long ends (minutes)"
    )


class GatewaySettings(BaseSettings):
    """``TRACEHUB_GATEWAY_*``: the ingest gateway (docs/gateway.md)."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_GATEWAY_", frozen=True)

    share_group: str | None = Field(
        default=None, description="replicas with the same group split the MQTT load"
    )
    spool_max_bytes: int = Field(default=1 << 30, gt=0, description="durable spool disk budget")
    config_file: Path | None = Field(
        default=None,
        description="JSON with more GatewayConfig fields (opcua, agv_profiles, known_devices)",
    )


class DevicesSettings(BaseSettings):
    """``TRACEHUB_DEVICES_*``: the device registry (site CA, identities; docs/security.md)."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_DEVICES_", frozen=True)

    dir: Path | None = Field(default=None, description="unset: <state>/devices")
    passphrase: SecretStr | None = Field(
        default=None, description="encrypts the keys at rest; unset: a generated file (demo)"
    )
    expiry_warning_days: int = Field(
        default=30,
        ge=1,
        description="warn (hub start, status, gateway health) about certificates and the CRL "
        "that expire within this many days; renew with `tracehub devices rotate --expiring`",
    )


class AlertsSettings(BaseSettings):
    """``TRACEHUB_ALERTS_*``: where incident notifications go (traceability.notifications).

    Who is told and when (recipients, escalation per site) is the ``notify:`` section of the
    alarm rule file; without one, everything goes to the single destinations below, so
    ``TRACEHUB_ALERTS_WEBHOOK_URL`` alone is a working setup. The URLs are secrets: they
    may carry a token or a password.
    """

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_ALERTS_", frozen=True)

    webhook_url: SecretStr | None = Field(
        default=None, description="POST each notification as JSON here (http:// or https://)"
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="signs each webhook body: X-Tracehub-Signature: sha256=<HMAC-SHA256 hex>",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://[user:pass@]host[:port][?from=addr&starttls=1] or smtps://…",
    )
    smtp_to: str | None = Field(
        default=None, description="the e-mail address told when there is no notify: section"
    )
    sms_url: SecretStr | None = Field(
        default=None,
        description="an HTTP SMS gateway; ?shape=json (default: {to, text, id}) or "
        "?shape=twilio&from=<number> (docs in notify/sms.py)",
    )
    sms_to: str | None = Field(
        default=None, description="the phone number texted when there is no notify: section"
    )
    timeout_s: float = Field(default=10.0, gt=0, description="per delivery attempt")

    @field_validator("smtp_to", "sms_to", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        # docker-compose passes an unset variable as "" (`${X:-}`): that is no address.
        return None if isinstance(value, str) and not value.strip() else value

    @staticmethod
    def _plain(value: SecretStr | None) -> str | None:
        return None if value is None else value.get_secret_value() or None

    def channels(self) -> dict[ChannelKind, Channel]:
        """The configured channels (``traceability.notifications.channels``); connects
        nowhere. ``notify.errors.BadDestination`` names a malformed URL."""
        from traceability.notifications.channels import channels_from

        return channels_from(
            webhook_url=self._plain(self.webhook_url),
            webhook_secret=self._plain(self.webhook_secret),
            smtp_url=self._plain(self.smtp_url),
            sms_url=self._plain(self.sms_url),
            timeout_s=self.timeout_s,
        )


class AlarmsSettings(BaseSettings):
    """``TRACEHUB_ALARMS_*``: the alarm rules the hub evaluates (traceability.alarms)."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_ALARMS_", frozen=True)

    file: Path | None = Field(
        default=None,
        description="the rule file (rules: and notify:, deploy/alarms.example.yaml); checked at "
        "start, an error names the line. None: the built-in rules (the product band in cold "
        "rooms and reefers for 15 min, probe offline 10 min, door open 5 min, gateway lost 5 min)",
    )
    interval_s: float = Field(default=5.0, gt=0, le=60, description="how often the rules run")


class Settings(BaseModel):
    """Everything, built once by :func:`load_settings`."""

    model_config = ConfigDict(frozen=True)

    hub: HubSettings
    mqtt: MqttSettings
    influx: InfluxSettings
    records: RecordsSettings
    chain: ChainSettings
    web: WebSettings
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    devices: DevicesSettings = Field(default_factory=DevicesSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    alarms: AlarmsSettings = Field(default_factory=AlarmsSettings)
    subscriptions: SubscriptionSettings = Field(default_factory=SubscriptionSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    spawn: SpawnSettings = Field(default_factory=SpawnSettings)

    @property
    def records_url(self) -> str:
        return self.records.url or f"sqlite:///{self.hub.state_dir / 'records.db'}"

    @property
    def ledger_url(self) -> str:
        return self.ledger.url or self.records_url

    @property
    def ledger_keys_dir(self) -> Path:
        return self.ledger.keys_dir or self.hub.state_dir / "ledger-keys"

    @property
    def devices_dir(self) -> Path:
        return self.devices.dir or self.hub.state_dir / "devices"

    @property
    def public_url(self) -> str:
        return self.web.public_url or f"http://{self.web.host}:{self.web.port}"


def load_settings() -> Settings:
    """Read the environment (once, at start-up)."""
    return Settings(
        hub=HubSettings(),
        mqtt=MqttSettings(),
        influx=InfluxSettings(),
        records=RecordsSettings(),
        chain=ChainSettings(),
        web=WebSettings(),
        ledger=LedgerSettings(),
        gateway=GatewaySettings(),
        devices=DevicesSettings(),
        alerts=AlertsSettings(),
        alarms=AlarmsSettings(),
        subscriptions=SubscriptionSettings(),
        retention=RetentionSettings(),
        spawn=SpawnSettings(),
    )
