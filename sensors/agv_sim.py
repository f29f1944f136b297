"""Simulated VDA 5050 v2.1 AGVs: state messages that drive between two nodes and pick up
and drop their loads in turn. ``agv_states`` is a pure, seeded generator;
``run_agvs`` publishes it on ``uagv/v2/{manufacturer}/{serial}/state``."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from sensors.agv import agv_topic
from sensors.credentials import AuthFor
from sensors.fields import format_timestamp
from sensors.scenario import Agv
from sensors.simulator import connect_publishers

CYCLE = 20  # states per pick-up/drop cycle


def agv_states(agv: Agv, start: datetime, step: timedelta) -> Iterator[dict[str, Any]]:
    """An endless stream of state messages (headerId counts from 0)."""
    for header in range(2**32):
        phase = header % CYCLE
        load_index = (header // CYCLE) % max(1, len(agv.loads))
        carrying = agv.loads and phase >= CYCLE // 2
        angle = 2 * math.pi * phase / CYCLE
        yield {
            "headerId": header,
            "timestamp": format_timestamp(start + step * header),
            "version": "2.1.0",
            "manufacturer": agv.manufacturer,
            "serialNumber": agv.serial,
            "orderId": f"order-{header // CYCLE}",
            "orderUpdateId": 0,
            "lastNodeId": "dock" if phase < CYCLE // 2 else "rack",
            "lastNodeSequenceId": 0,
            "nodeStates": [],
            "edgeStates": [],
            "agvPosition": {
                "x": round(10 + 8 * math.cos(angle), 3),
                "y": round(5 + 3 * math.sin(angle), 3),
                "theta": round(angle, 4),
                "mapId": agv.map_id,
                "positionInitialized": True,
            },
            "velocity": {"vx": 0.0 if phase in (0, CYCLE // 2) else 1.2, "vy": 0.0, "omega": 0.0},
            "loads": [{"loadId": agv.loads[load_index], "loadType": "EPAL"}] if carrying else [],
            "driving": phase not in (0, CYCLE // 2),
            "actionStates": [],
            "batteryState": {
                "batteryCharge": round(100 - (header % 500) / 10, 1),
                "charging": False,
            },
            "operatingMode": "AUTOMATIC",
            "errors": [],
            "safetyState": {"eStop": "NONE", "fieldViolation": False},
        }


def run_agvs(
    host: str,
    port: int,
    agvs: tuple[Agv, ...],
    stop: threading.Event,
    interval_s: float,
    *,
    start: datetime,
    count: int | None = None,
    auth_for: AuthFor | None = None,
) -> int:
    """Publish every AGV's state each ``interval_s`` (QoS 1 here: we count what the broker
    took; VDA 5050 suggests QoS 0 for state); return how many were published."""
    streams = [
        (
            str(agv_topic(a.manufacturer, a.serial)),
            agv_states(a, start, timedelta(seconds=interval_s or 1)),
        )
        for a in agvs
    ]
    publishers = connect_publishers(host, port, [t for t, _ in streams], auth_for=auth_for)
    sent = tick = 0
    try:
        while not stop.is_set() and (count is None or tick < count):
            for topic, states in streams:
                if publishers[topic].publish(topic, json.dumps(next(states)).encode(), stop):
                    sent += 1
            tick += 1
            if interval_s > 0 and stop.wait(interval_s):
                break
        for publisher in set(publishers.values()):
            publisher.flush()
    finally:
        for publisher in set(publishers.values()):
            publisher.close()
    return sent
