"""The supervisor: a loop that dies is restarted with capped backoff and reported; one
that handles its own outage is reported unhealthy, not restarted; watched components
are asked. Real threads; every wait is on a status change, never a sleep."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping

import pytest

from supervision.status import ComponentState, ComponentStatus
from supervision.supervisor import Component, Supervisor

WAIT_S = 10.0


@pytest.fixture
def supervisor() -> Iterator[Supervisor]:
    # Short backoff: these tests restart loops on purpose.
    sup = Supervisor(initial_backoff_s=0.01, max_backoff_s=0.04)
    yield sup
    sup.stop(timeout=5)


def test_a_loop_that_raises_is_restarted_and_its_error_kept(
    supervisor: Supervisor, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []
    release = threading.Event()

    def loop(component: Component) -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("injected: the first round dies")
        component.succeeded()
        release.wait(WAIT_S)  # the second run stays up until the test is done
        component.stopping.wait(WAIT_S)

    with caplog.at_level(logging.ERROR, logger="supervision.supervisor"):
        supervisor.spawn("worker", loop)
        assert supervisor.wait_until(
            lambda s: s["worker"].restarts == 1 and s["worker"].last_success is not None, WAIT_S
        )
    status = supervisor.status("worker")
    assert status is not None
    assert (status.state, status.restarts, status.ready) == (ComponentState.RUNNING, 1, True)
    assert status.last_error is not None
    assert (status.last_error.type, status.last_error.message) == (
        "RuntimeError",
        "injected: the first round dies",
    )
    # logged with its traceback, naming the component
    (record,) = [r for r in caplog.records if "worker crashed" in r.getMessage()]
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    release.set()


def test_while_it_waits_to_restart_it_is_not_ready(supervisor: Supervisor) -> None:
    slow = Supervisor(initial_backoff_s=30, max_backoff_s=30)  # the restart waits 30 s
    try:

        def loop(component: Component) -> None:
            raise ValueError("bad record")

        slow.spawn("worker", loop)
        assert slow.wait_until(lambda s: s["worker"].state is ComponentState.RESTARTING, WAIT_S)
        status = slow.status("worker")
        assert status is not None
        assert not status.ready
        assert str(status.last_error) == "ValueError: bad record"
    finally:
        slow.stop(timeout=5)  # interrupts the backoff at once
    status = slow.status("worker")
    assert status is not None
    assert status.state is ComponentState.STOPPED


def test_the_backoff_doubles_up_to_the_cap_and_starts_over_after_a_success(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    delays: list[float] = []
    sup = Supervisor(initial_backoff_s=0.001, max_backoff_s=0.004)
    done = threading.Event()
    crashes = iter(range(100))

    def loop(component: Component) -> None:
        n = next(crashes)
        if n == 5:
            component.succeeded()  # a good round: the next crash backs off from the start
        if n == 7:
            done.set()
            component.stopping.wait(WAIT_S)
            return
        raise RuntimeError(f"crash {n}")

    original = Component._crashed

    def spy(self: Component, error: BaseException | str) -> float:
        delay = original(self, error)
        delays.append(delay)
        return delay

    monkeypatch.setattr(Component, "_crashed", spy)
    try:
        sup.spawn("worker", loop)
        assert done.wait(WAIT_S)
    finally:
        sup.stop(timeout=5)
    assert delays == [0.001, 0.002, 0.004, 0.004, 0.004, 0.001, 0.002]


def test_a_handled_failure_is_reported_without_a_restart(supervisor: Supervisor) -> None:
    outage, recovered, stay = threading.Event(), threading.Event(), threading.Event()

    def loop(component: Component) -> None:
        component.failed(ConnectionError("the chain is down"))
        outage.set()
        recovered.wait(WAIT_S)
        component.succeeded()
        stay.wait(WAIT_S)

    supervisor.spawn("anchoring", loop)
    assert outage.wait(WAIT_S)
    status = supervisor.status("anchoring")
    assert status is not None
    assert (status.ready, status.restarts, str(status.last_error)) == (
        False,
        0,
        "ConnectionError: the chain is down",
    )
    recovered.set()
    assert supervisor.wait_until(lambda s: s["anchoring"].ready, WAIT_S)
    stay.set()


def test_a_loop_that_returns_unasked_is_restarted(supervisor: Supervisor) -> None:
    runs: list[int] = []

    def loop(component: Component) -> None:
        runs.append(1)
        if len(runs) > 1:
            component.stopping.wait(WAIT_S)

    supervisor.spawn("worker", loop)
    assert supervisor.wait_until(lambda s: s["worker"].restarts == 1, WAIT_S)
    status = supervisor.status("worker")
    assert status is not None
    assert status.last_error is not None
    assert "returned without being asked to stop" in status.last_error.message


def test_stop_ends_the_loop_and_a_stopped_name_can_start_again(supervisor: Supervisor) -> None:
    def loop(component: Component) -> None:
        component.succeeded()
        component.stopping.wait(WAIT_S)

    first = supervisor.spawn("worker", loop)
    with pytest.raises(ValueError, match="already running"):
        supervisor.spawn("worker", loop)
    assert first.stop(timeout=5)
    status = supervisor.status("worker")
    assert status is not None
    assert (status.state, status.ready) == (ComponentState.STOPPED, False)
    supervisor.spawn("worker", loop)  # a part started again after a stop
    assert supervisor.wait_until(lambda s: s["worker"].state is ComponentState.RUNNING, WAIT_S)


def test_watched_components_are_asked_and_a_failing_probe_is_not_ready(
    supervisor: Supervisor,
) -> None:
    up = {"value": True}

    def probe() -> ComponentStatus:
        return ComponentStatus(name="ignored", state=ComponentState.RUNNING, healthy=up["value"])

    def broken() -> ComponentStatus:
        raise OSError("socket closed")

    supervisor.watch("mqtt", probe)
    supervisor.watch("web", broken)
    by_name: Mapping[str, ComponentStatus] = {s.name: s for s in supervisor.statuses()}
    assert by_name["mqtt"].ready
    assert not by_name["mqtt"].supervised
    assert not by_name["web"].ready
    assert str(by_name["web"].last_error) == "OSError: socket closed"
    up["value"] = False
    assert not {s.name: s for s in supervisor.statuses()}["mqtt"].ready
    supervisor.unwatch("mqtt")
    assert [s.name for s in supervisor.statuses()] == ["web"]


def test_a_long_error_message_is_cut(supervisor: Supervisor) -> None:
    def loop(component: Component) -> None:
        component.failed(ValueError("x" * 100_000))
        component.stopping.wait(WAIT_S)

    supervisor.spawn("worker", loop)
    assert supervisor.wait_until(lambda s: s["worker"].last_error is not None, WAIT_S)
    status = supervisor.status("worker")
    assert status is not None
    assert status.last_error is not None
    assert len(status.last_error.message) == 500


def test_backoff_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="backoff"):
        Supervisor(initial_backoff_s=2, max_backoff_s=1)
