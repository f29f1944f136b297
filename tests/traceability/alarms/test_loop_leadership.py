"""Alarm loops of several replicas over one records database (issue #18): one leader
evaluates the rules, the others stand by; a leader that stops hands over at once, and
the new one first finishes what its predecessor left (``on_lead``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from supervision.supervisor import Supervisor
from traceability.alarms.engine import COMPONENT, AlarmEngine, AlarmLoop
from traceability.alarms.model import Alarm
from traceability.leadership import Leadership
from traceability.records.store import RecordStore


class Rounds:
    """Stands in for the engine: counts its rounds (the rules are not under test)."""

    def __init__(self) -> None:
        self.count = 0
        self.ran = threading.Event()

    def run_once(self) -> list[Alarm]:
        self.count += 1
        self.ran.set()
        return []


def replica(store: RecordStore, name: str, led: list[str]) -> tuple[AlarmLoop, Rounds, Supervisor]:
    rounds, supervisor = Rounds(), Supervisor()
    loop = AlarmLoop(
        cast(AlarmEngine, rounds),
        interval_s=0.02,
        supervisor=supervisor,
        leadership=Leadership(store, "alarms", name, ttl_s=60),
        on_lead=lambda: led.append(name),
    )
    return loop, rounds, supervisor


def test_one_replica_evaluates_and_a_stopped_leader_hands_over(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store_a, store_b = RecordStore.open(url), RecordStore.open(url)
    led: list[str] = []
    a, rounds_a, sup_a = replica(store_a, "a", led)
    b, rounds_b, sup_b = replica(store_b, "b", led)
    a.start()
    assert rounds_a.ran.wait(10)
    b.start()
    try:
        # b has stood by for several of its rounds (healthy while it does), a evaluated
        assert sup_b.wait_until(lambda s: COMPONENT in s and s[COMPONENT].healthy, 10)
        start = rounds_a.count
        while rounds_a.count < start + 10:
            assert rounds_a.ran.wait(10)
            rounds_a.ran.clear()
        assert rounds_b.count == 0
        assert led == ["a"]
        a.stop()  # a clean stop releases the lease: b leads from its next round
        assert rounds_b.ran.wait(10)
        assert led == ["a", "b"]
        assert store_a.lease_holder("alarms", datetime.now(UTC)) == "b"
        stopped_at = rounds_a.count
        assert rounds_b.ran.wait(10)
        assert rounds_a.count == stopped_at
    finally:
        a.stop()
        b.stop()
        sup_a.stop()
        sup_b.stop()
        store_a.close()
        store_b.close()
