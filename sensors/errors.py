"""Errors raised by the sensors package.

::

    SensorError                 base of everything this package raises
     ├── TopicError             a topic string does not follow tracehub/v1/{site}/{kind}/{id}
     ├── AgvError               a VDA 5050 message breaks its schema (``field`` names where)
     ├── ScenarioError          a site scenario file cannot be read or is invalid
     ├── SimulatorError         a simulator could not connect to or publish on the broker
     └── CredentialsError       MQTT credentials (CA, client cert/key, password) unusable

TopicError, AgvError, ScenarioError and CredentialsError are also ValueErrors so pydantic
validators can raise them and report the field that was wrong. An undecodable EPC is
``gs1.errors.EpcError`` (the TDS codec lives in ``gs1.epc``).
"""

from __future__ import annotations


class SensorError(Exception):
    """Base class for errors raised by the sensors package."""


class TopicError(SensorError, ValueError):
    """A topic does not follow the tracehub topic scheme."""


class SimulatorError(SensorError):
    """A simulator could not connect to the broker or publish."""


class AgvError(SensorError, ValueError):
    """A VDA 5050 message does not validate; ``field`` is the JSON path at fault."""

    def __init__(self, reason: str, field: str = "payload") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class ScenarioError(SensorError, ValueError):
    """A site scenario file cannot be read or does not describe a valid site."""


class CredentialsError(SensorError, ValueError):
    """MQTT credentials cannot be used: a missing file, a wrong key passphrase, a bad CA."""
