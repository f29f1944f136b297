"""Readiness values: ready only when every component is; the JSON form reads back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from supervision.status import ComponentState, ComponentStatus, Failure, Readiness, SetAside

AT = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def test_ready_means_every_component_live_and_healthy() -> None:
    running = ComponentStatus(name="a", state=ComponentState.RUNNING)
    starting = ComponentStatus(name="b", state=ComponentState.STARTING)
    assert Readiness(components=(running, starting)).ready
    for bad in (
        ComponentStatus(name="c", state=ComponentState.RESTARTING),
        ComponentStatus(name="c", state=ComponentState.STOPPED),
        ComponentStatus(name="c", state=ComponentState.RUNNING, healthy=False),
    ):
        assert not Readiness(components=(running, bad)).ready
    # a record set aside is listed, not a reason to be unready
    aside = SetAside(pipeline="ledger", record="epcis-event x", reason="bad", at=AT)
    assert Readiness(components=(running,), set_aside_count=1, set_aside=(aside,)).ready


def test_the_json_form_reads_back() -> None:
    report = Readiness(
        components=(
            ComponentStatus(
                name="anchoring",
                state=ComponentState.RESTARTING,
                healthy=False,
                restarts=3,
                last_error=Failure.of(RuntimeError("boom"), AT),
                last_success=AT,
            ),
            ComponentStatus(
                name="chain", state=ComponentState.RUNNING, supervised=False, detail="block 7"
            ),
        ),
        set_aside_count=12,
        set_aside=(SetAside(pipeline="ledger", record="epcis-event x", reason="r", at=AT),),
    )
    data = report.to_json()
    assert data["status"] == "not ready"
    assert data["components"][0]["last_error"] == {
        "type": "RuntimeError",
        "message": "boom",
        "at": "2026-11-22T10:00:00.000Z",
    }
    again = Readiness.from_json(data)
    assert again == report


def test_a_document_without_components_is_refused() -> None:
    with pytest.raises(ValueError, match="no components"):
        Readiness.from_json({"status": "ok"})
