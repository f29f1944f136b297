"""The channels the hub sends through, built from plain setting values.

The hub wiring (tracehub/) calls ``channels_from`` with the ``TRACEHUB_ALERTS_*``
settings' values; an unset URL leaves its channel out (a recipient's address on it is then
skipped). Building connects nowhere: each channel opens its connection at its first send.
A malformed URL is ``notify.errors.BadDestination`` at start, naming the setting.
"""

from __future__ import annotations

from notify.channel import DEFAULT_TIMEOUT_S, Channel, ChannelKind
from notify.sms import SmsChannel
from notify.smtp import SmtpChannel
from notify.webhook import WebhookChannel


def channels_from(
    *,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    smtp_url: str | None = None,
    sms_url: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> dict[ChannelKind, Channel]:
    """One channel per configured URL."""
    channels: dict[ChannelKind, Channel] = {}
    if webhook_url:
        channels["webhook"] = WebhookChannel(webhook_url, webhook_secret, timeout_s=timeout_s)
    if smtp_url:
        channels["email"] = SmtpChannel.from_url(smtp_url, timeout_s=timeout_s)
    if sms_url:
        channels["sms"] = SmsChannel.from_url(sms_url, timeout_s=timeout_s)
    return channels
