"""What a supervised component reports, and a process's readiness made of them.

Frozen values only: the supervisor (``supervision.supervisor``) builds them, the hub's
``/readyz`` and ``tracehub status`` show them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

# An error is reported by its message, kept short: the traceback goes to the log.
MESSAGE_MAX = 500


class ComponentState(StrEnum):
    """Where a component's loop is."""

    STARTING = "starting"  # running, no round finished yet
    RUNNING = "running"  # at least one round finished since the last (re)start
    RESTARTING = "restarting"  # crashed: waiting out its backoff, or not through a round yet
    STOPPED = "stopped"  # asked to stop, or never started


class Failure(BaseModel):
    """An error a component met: its type, message and when."""

    model_config = ConfigDict(frozen=True)

    type: str
    message: str
    at: datetime

    @classmethod
    def of(cls, error: BaseException | str, at: datetime | None = None) -> Failure:
        moment = at or datetime.now(UTC)
        if isinstance(error, str):
            return cls(type="Error", message=error[:MESSAGE_MAX], at=moment)
        message = (str(error) or repr(error))[:MESSAGE_MAX]
        return cls(type=type(error).__name__, message=message, at=moment)

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "at": _instant(self.at)}


class ComponentStatus(BaseModel):
    """One component as it is now.

    ``healthy``: no error since its last success (a handled outage, e.g. the chain
    down, makes it unhealthy until a round succeeds again). ``supervised``: the
    supervisor runs and restarts it; False for a component only watched (a probe).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    state: ComponentState
    healthy: bool = True
    supervised: bool = True
    restarts: int = 0
    last_error: Failure | None = None
    last_success: datetime | None = None
    detail: str | None = None

    @property
    def ready(self) -> bool:
        live = self.state in (ComponentState.STARTING, ComponentState.RUNNING)
        return live and self.healthy

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ready": self.ready,
            "state": self.state.value,
            "supervised": self.supervised,
            "restarts": self.restarts,
            "last_error": None if self.last_error is None else self.last_error.to_json(),
            "last_success": None if self.last_success is None else _instant(self.last_success),
            "detail": self.detail,
        }


class SetAside(BaseModel):
    """A record a pipeline set aside instead of stopping on it (a poison record)."""

    model_config = ConfigDict(frozen=True)

    pipeline: str  # e.g. "ledger"
    record: str  # what it was, e.g. "epcis-event ni:///sha-256;…"
    reason: str
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "pipeline": self.pipeline,
            "record": self.record,
            "reason": self.reason,
            "at": _instant(self.at),
        }


class Readiness(BaseModel):
    """A process's readiness: ready when every component is.

    Set-aside records do not make it unready (the pipeline goes on without them);
    they are listed so an operator sees them (``set_aside_count`` all of them,
    ``set_aside`` the newest few).
    """

    model_config = ConfigDict(frozen=True)

    components: tuple[ComponentStatus, ...]
    set_aside_count: int = 0
    set_aside: tuple[SetAside, ...] = ()

    @property
    def ready(self) -> bool:
        return all(c.ready for c in self.components)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "components": [c.to_json() for c in self.components],
            "set_aside": {
                "count": self.set_aside_count,
                "newest": [s.to_json() for s in self.set_aside],
            },
        }

    def summary_json(self) -> dict[str, Any]:
        """What anyone may see: each component's name and state, no error messages
        (they can name hosts, paths and records) and no set-aside records."""
        return {
            "status": "ready" if self.ready else "not ready",
            "components": [
                {"name": c.name, "ready": c.ready, "state": c.state.value} for c in self.components
            ],
            "set_aside": {"count": self.set_aside_count, "newest": []},
            "detail": "errors and set-aside records: ask from the hub's own machine, or send "
            "an admin client's bearer token",
        }

    @classmethod
    def from_json(cls, data: Any) -> Readiness:
        """Read back what ``to_json`` wrote (``tracehub status`` reads ``/readyz``)."""
        if not isinstance(data, dict) or not isinstance(data.get("components"), list):
            raise ValueError("not a readiness document: it lists no components")
        components = []
        for item in data["components"]:
            error = item.get("last_error")
            components.append(
                ComponentStatus(
                    name=item["name"],
                    state=ComponentState(item["state"]),
                    # A component said not ready stays so, whatever else it says.
                    healthy=bool(item.get("ready")),
                    supervised=bool(item.get("supervised", True)),
                    restarts=int(item.get("restarts", 0)),
                    last_error=None if error is None else Failure.model_validate(error),
                    last_success=item.get("last_success"),
                    detail=item.get("detail"),
                )
            )
        aside = data.get("set_aside") or {}
        return cls(
            components=tuple(components),
            set_aside_count=int(aside.get("count", 0)),
            set_aside=tuple(SetAside.model_validate(s) for s in aside.get("newest", [])),
        )


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
