"""MqttSource against real mosquitto: acknowledged only once spooled, redelivered otherwise,
Receive Maximum bounds the push, shared subscriptions split the load, a spooler killed by
a bug is restarted and finishes its batch (nothing lost, nothing spooled or acked twice)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gateway.errors import SourceError, SpoolUnavailable
from gateway.mqtt import COMPONENT, MqttSource, SpoolAppend
from gateway.spool import Incoming, Spool
from sensors.simulator import ProbeSpec, SimulatorSpec, run_simulators
from supervision.supervisor import Supervisor
from tracehub.services import Mosquitto

pytestmark = pytest.mark.integration

WAIT = 30.0
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
ROOM = "urn:epc:id:sgln:4012345.00001.0"


def simulate(broker: Mosquitto, site: str, count: int, probes: int = 1) -> None:
    spec = SimulatorSpec(
        site=site,
        probes=tuple(ProbeSpec(device_id=f"p{i}", location=ROOM) for i in range(probes)),
    )
    run_simulators(broker.host, broker.port, spec, threading.Event(), 0, count=count, start=START)


class Collect:
    """A spool stand-in that keeps what it is given and can fail or hold."""

    def __init__(self, expect: int = 0) -> None:
        self.items: list[Incoming] = []
        self.fail = 0
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.done = threading.Event()
        self.expect = expect
        self._lock = threading.Lock()

    def __call__(self, items: Sequence[Incoming], stop: threading.Event) -> bool:
        self.entered.set()
        # Held like a spool at its budget: released by hold, or by the source stopping.
        while not self.hold.wait(0.05):
            if stop.is_set():
                return False
        if stop.is_set():
            return False
        with self._lock:
            if self.fail > 0:
                self.fail -= 1
                raise SpoolUnavailable("disk full")
            self.items.extend(items)
            if len(self.items) >= self.expect:
                self.done.set()
        return True


def unique(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:8]


def test_acknowledged_only_after_the_spool_took_it(mosquitto: Mosquitto) -> None:
    client_id, site = unique("gw-ack-"), unique("site")
    blocked = Collect()
    blocked.hold.clear()  # the spool never commits (full disk, say)
    first = MqttSource(mosquitto.host, mosquitto.port, client_id, blocked)
    first.start()
    assert first.wait_ready(WAIT)
    simulate(mosquitto, site, 5)
    assert blocked.entered.wait(WAIT)
    first.stop()
    assert first.acked == 0

    # Same client id, persistent session: the broker redelivers all 5.
    spool = Collect(expect=5)
    second = MqttSource(mosquitto.host, mosquitto.port, client_id, spool)
    second.start()
    try:
        assert spool.done.wait(WAIT)
    finally:
        second.stop()
    assert sorted(i.payload.count(b'"seq":') for i in spool.items) == [1] * 5
    assert second.acked == 5


def test_spool_failures_are_retried_in_order_then_acked(mosquitto: Mosquitto) -> None:
    spool = Collect(expect=3)
    spool.fail = 3
    source = MqttSource(
        mosquitto.host,
        mosquitto.port,
        unique("gw-flaky-"),
        spool,
        retry_initial_s=0.01,
        retry_max_s=0.05,
    )
    source.start()
    try:
        assert source.wait_ready(WAIT)
        simulate(mosquitto, unique("site"), 3)
        assert spool.done.wait(WAIT)
    finally:
        source.stop()
    assert [b'"seq":%d' % i in item.payload for i, item in enumerate(spool.items)] == [True] * 3
    assert source.acked == 3


def test_a_spool_outage_is_reported_until_a_batch_goes_through(mosquitto: Mosquitto) -> None:
    supervisor = Supervisor(initial_backoff_s=0.01, max_backoff_s=0.05)
    spool = Collect(expect=1)
    spool.fail = 1
    spool.hold.clear()
    source = MqttSource(mosquitto.host, mosquitto.port, unique("gw-out-"), spool,
                        retry_initial_s=0.01, supervisor=supervisor)  # fmt: skip
    source.start()
    try:
        assert source.wait_ready(WAIT)
        simulate(mosquitto, unique("site"), 1)
        assert spool.entered.wait(WAIT)
        spool.hold.set()  # the first try meets the outage, the retry goes through
        assert supervisor.wait_until(lambda s: s[COMPONENT].last_error is not None, WAIT)
        assert spool.done.wait(WAIT)
        assert supervisor.wait_until(lambda s: s[COMPONENT].ready, WAIT)
    finally:
        source.stop()
    status = supervisor.status(COMPONENT)
    assert status is not None
    # Handled in place: reported, not a restart.
    assert (status.restarts, str(status.last_error)) == (0, "SpoolUnavailable: disk full")


class Buggy(Collect):
    """A spool whose first append raises an unexpected error (a bug, not an outage)."""

    def __init__(self, expect: int) -> None:
        super().__init__(expect)
        self.crashed = False

    def __call__(self, items: Sequence[Incoming], stop: threading.Event) -> bool:
        if not self.crashed:
            self.crashed = True
            raise RuntimeError("injected: a spool bug")
        return super().__call__(items, stop)


def test_a_spooler_killed_by_a_bug_is_restarted_and_spools_its_batch_once(
    mosquitto: Mosquitto,
) -> None:
    supervisor = Supervisor(initial_backoff_s=0.01, max_backoff_s=0.05)
    spool = Buggy(expect=5)
    source = MqttSource(
        mosquitto.host, mosquitto.port, unique("gw-bug-"), spool, supervisor=supervisor
    )
    source.start()
    try:
        assert source.wait_ready(WAIT)
        simulate(mosquitto, unique("site"), 5)
        assert spool.done.wait(WAIT)
        assert supervisor.wait_until(lambda s: s[COMPONENT].ready, WAIT)
    finally:
        source.stop()
    status = supervisor.status(COMPONENT)
    assert status is not None
    assert (status.restarts, str(status.last_error)) == (1, "RuntimeError: injected: a spool bug")
    # The batch in hand when it died was spooled by the restarted loop: each message once.
    assert sorted(i.payload for i in spool.items) == sorted({i.payload for i in spool.items})
    assert (len(spool.items), source.acked, source.received) == (5, 5, 5)


def test_a_spooler_killed_while_acking_acks_only_the_rest(
    mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Died after the spool took the batch: the restarted loop does not spool it again,
    and acknowledges only what was not acknowledged yet (a packet id acked twice could
    ack a newer message that reuses it, before it is spooled)."""
    supervisor = Supervisor(initial_backoff_s=0.01, max_backoff_s=0.05)
    spool = Collect(expect=4)
    client_id = unique("gw-ack-bug-")
    source = MqttSource(mosquitto.host, mosquitto.port, client_id, spool, supervisor=supervisor)
    acks: list[int] = []
    real_ack = source._client.ack

    def ack(mid: int, qos: int) -> None:
        if len(acks) == 2:
            acks.append(-1)  # once: the third ack dies
            raise RuntimeError("injected: dies mid-batch")
        acks.append(mid)
        real_ack(mid, qos)

    monkeypatch.setattr(source._client, "ack", ack)
    source.start()
    try:
        assert source.wait_ready(WAIT)
        simulate(mosquitto, unique("site"), 4)
        assert spool.done.wait(WAIT)
        assert supervisor.wait_until(lambda s: s[COMPONENT].restarts == 1, WAIT)
        assert supervisor.wait_until(lambda s: s[COMPONENT].ready, WAIT)
    finally:
        source.stop()
    mids = [m for m in acks if m != -1]
    assert len(mids) == len(set(mids)) == source.acked == 4  # each acknowledged once
    assert len(spool.items) == len({i.payload for i in spool.items}) == 4  # spooled once


def test_source_config_is_checked() -> None:
    with pytest.raises(SourceError, match="client_id must be set"):
        MqttSource("127.0.0.1", 1883, "", Collect())
    with pytest.raises(SourceError, match="receive_maximum"):
        MqttSource("127.0.0.1", 1883, "x", Collect(), receive_maximum=0)
    with pytest.raises(SourceError, match="share_group"):
        MqttSource("127.0.0.1", 1883, "x", Collect(), share_group="a/b")


def test_receive_maximum_bounds_what_the_broker_pushes(mosquitto: Mosquitto) -> None:
    spool = Collect(expect=20)
    spool.hold.clear()
    source = MqttSource(
        mosquitto.host, mosquitto.port, unique("gw-bounded-"), spool, receive_maximum=5
    )
    source.start()
    try:
        assert source.wait_ready(WAIT)
        simulate(mosquitto, unique("site"), 20)  # returns once the broker has all 20
        assert spool.entered.wait(WAIT)
        # A batch is in the spool call; the broker may push only 5 unacked in total.
        within_bound = [source.pending <= 4]
        spool.done.wait(0.5)
        within_bound.append(source.pending <= 4)
        assert within_bound == [True, True]
        assert spool.items == []
        spool.hold.set()
        assert spool.done.wait(WAIT)
    finally:
        spool.hold.set()
        source.stop()
    assert source.acked == 20


def test_shared_subscription_splits_the_load(mosquitto: Mosquitto, tmp_path: Path) -> None:
    group = unique("grp")
    spools = [Spool(tmp_path / f"s{i}.sqlite3", synchronous="NORMAL") for i in range(2)]
    lock, all_in = threading.Lock(), threading.Event()
    count = [0]

    def counting(spool: Spool) -> SpoolAppend:
        def append(items: Sequence[Incoming], stop: threading.Event) -> bool:
            done = spool.append(items, stop)
            with lock:
                count[0] += len(items)
                if count[0] >= 400:
                    all_in.set()
            return done

        return append

    sources = [
        MqttSource(
            mosquitto.host, mosquitto.port, unique(f"gw-{i}-"), counting(spools[i]),
            share_group=group,
        )
        for i in range(2)
    ]  # fmt: skip
    for source in sources:
        source.start()
    try:
        assert all(s.wait_ready(WAIT) for s in sources)
        simulate(mosquitto, unique("site"), 100, probes=4)
        assert all_in.wait(WAIT)
    finally:
        for source in sources:
            source.stop()
    entries = [e for s in spools for e in s.peek(1000)]
    assert len(entries) == len({e.payload for e in entries}) == 400
    assert min(s.depth for s in spools) > 50  # both replicas took a real share
    for s in spools:
        s.close()


def test_plain_warns_at_every_start_and_lets_anyone_take_the_session(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """Why TLS is the default (docs/security.md): on a plain broker a client reusing the
    gateway's client id kicks it off; the source counts that disconnect."""
    client_id = unique("gw-plain-")
    source = MqttSource(mosquitto.host, mosquitto.port, client_id, Collect())
    thief = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    with caplog.at_level(logging.WARNING, logger="gateway.mqtt"):
        source.start()
        try:
            assert source.wait_ready(WAIT)
            assert source.disconnects == 0
            thief.connect(mosquitto.host, mosquitto.port)
            thief.loop_start()
            deadline = time.monotonic() + WAIT
            # No event to await: the broker's DISCONNECT reaches paho's own thread.
            while source.disconnects == 0 and time.monotonic() < deadline:
                threading.Event().wait(0.05)
            assert source.disconnects >= 1
        finally:
            thief.disconnect()
            thief.loop_stop()
            thief._reset_sockets(sockpair_only=True)
            source.stop()
        source.start()  # a restart (the supervisor's) warns again
        source.stop()
    warned = [r for r in caplog.records if "is plain: no TLS, no authentication" in r.message]
    assert [r.levelno for r in warned] == [logging.WARNING, logging.WARNING]
