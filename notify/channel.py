"""The port every channel implements: send one message to one address.

``kind`` names the channel in the outbox (``webhook``, ``email``, ``sms``). ``send``
returns once the receiver has accepted the message and raises
``notify.errors.DeliveryFailed`` otherwise; it never retries by itself (the caller's outbox
decides when to try again) and every network call in it has a timeout.
"""

from __future__ import annotations

from typing import Literal, Protocol

from notify.message import Message

ChannelKind = Literal["webhook", "email", "sms"]
DEFAULT_TIMEOUT_S = 10.0


class Channel(Protocol):
    @property
    def kind(self) -> ChannelKind: ...

    def send(self, message: Message, address: str) -> None:
        """Deliver ``message`` to ``address`` (an e-mail address, a phone number, or for
        the webhook the recipient's name, passed in the payload)."""
        ...

    def close(self) -> None: ...
