"""What is sent: one frozen message, the same for every channel.

``id`` is the outbox row's id. Every channel passes it on as an idempotency key (the
webhook's ``X-Tracehub-Delivery`` header, the e-mail's ``Message-ID``, the SMS gateway's
``id`` field where the shape has one), because a message may be delivered twice: once
before a crash and once after (see ``traceability.records.outbox``). A receiver that keeps
the ids it has seen shows it once.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Safe in a header, a Message-ID's local part and a URL: no escaping anywhere.
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class Message(BaseModel):
    """One notification: ``subject`` and ``text`` for people (e-mail), ``short`` for an
    SMS (the subject when unset), ``payload`` the JSON body a webhook receives."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    subject: str = Field(min_length=1, max_length=300)
    text: str
    short: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # A header cannot hold a line break (and one would let text inject headers).
        return " ".join(value.split())

    @property
    def sms_text(self) -> str:
        return self.short or self.subject
