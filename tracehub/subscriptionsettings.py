"""``TRACEHUB_SUBSCRIPTIONS_*``: EPCIS query subscriptions (traceability.subscriptions).

Moved out of ``tracehub.settings`` (at its size limit), which imports it, so
``from tracehub.settings import SubscriptionSettings`` keeps working.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SubscriptionSettings(BaseSettings):
    """``TRACEHUB_SUBSCRIPTIONS_*``: EPCIS query subscriptions (traceability.subscriptions)."""

    model_config = SettingsConfigDict(env_prefix="TRACEHUB_SUBSCRIPTIONS_", frozen=True)

    public_only: bool = Field(
        default=True,
        description="refuse webhook destinations on loopback, private, link-local or "
        "metadata addresses, checked at subscribe time and again before each send, after "
        "DNS resolution (a subscriber must not make the hub POST into its own network); "
        "false allows them: tests and `tracehub demo`, whose receivers are on loopback",
    )
    poll_s: float = Field(default=1.0, gt=0, description="how often delivery looks unwoken")
    batch: int = Field(default=100, ge=1, le=10_000, description="events per webhook POST")
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="all of one webhook POST")
    workers: int = Field(default=8, ge=1, le=64, description="webhook destinations sent to at once")
    max_per_client: int = Field(default=20, ge=1, description="active subscriptions per client")
    max_total: int = Field(default=1000, ge=1, description="active subscriptions on the site")
    retention_days: float = Field(default=7.0, gt=0, description="delivered rows are kept")
    websocket_idle_days: float = Field(
        default=7.0, gt=0, description="a WebSocket client away this long: cancelled"
    )
