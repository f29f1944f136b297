"""Sealing survives a crash: the gateway killed with SIGKILL between receive and seal.

Each reading is filed into its window in the same spool transaction that completes its
message, so after a kill -9 and a restart the seal of every window holds each reading
exactly once, and InfluxDB re-derives its root.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.completeness import KIND, reading_leaf
from gateway.influx import InfluxWriter
from ledger.merkle import merkle_root
from tests.gateway.test_faults import (
    ROOM,
    Feeder,
    GatewayProcess,
    config,
    stream,
    unique,
    wait_count,
)
from tests.support.devices import write_registry
from tracehub.services import InfluxDB, Mosquitto

pytestmark = pytest.mark.integration


def latest_seals(path: Path) -> dict[str, dict[str, Any]]:
    seals: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return seals
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue  # the line being written when the process was killed
        record = item["record"]
        if item["kind"] == KIND:
            known = seals.get(record["device"])
            if known is None or record["revision"] >= known["revision"]:
                seals[record["device"]] = record
    return seals


def test_kill_9_between_receive_and_seal_loses_and_duplicates_no_leaf(
    mosquitto: Mosquitto, influxdb: InfluxDB, tmp_path: Path
) -> None:
    total, devices = 20_000, 4
    per = total // devices
    site = unique("site")
    registry = write_registry(tmp_path / "devices", site, {f"p{d}": ROOM for d in range(devices)})
    cfg = config(
        mosquitto, influxdb, tmp_path / "state", devices_dir=registry,
        evidence_grace_s=0, evidence_quiet_s=1.0, evidence_check_s=0.2,
    )  # fmt: skip
    gateway = GatewayProcess(cfg, tmp_path / "proc")
    try:
        gateway.start()
        feeder = Feeder(mosquitto, stream(site, total, devices))
        halfway = feeder.at(total // 3)
        feeder.start()
        assert halfway.wait(120)
        gateway.kill()  # readings in flight, in the spool, filed and maybe sealed
        gateway.start()
        feeder.finish()
        assert wait_count(influxdb, cfg.influx_database, total, 120) == total
        # The sealer runs in the child: its file is the only event there is to watch.
        evidence = cfg.resolved_evidence_path
        deadline = time.monotonic() + 60
        seals = latest_seals(evidence)
        while time.monotonic() < deadline and (
            len(seals) < devices or any(s["count"] < per for s in seals.values())
        ):
            threading.Event().wait(0.25)
            seals = latest_seals(evidence)
    finally:
        gateway.stop()
    assert sorted(seals) == [f"p{d}" for d in range(devices)]
    with InfluxWriter(influxdb.url, cfg.influx_database) as client:
        for device, seal in seals.items():
            assert (seal["count"], seal["repeated_seqs"], seal["gaps"]) == (per, 0, [])
            assert (seal["first_seq"], seal["last_seq"]) == (0, per - 1)
            rows = [
                r
                for s in client.query(f"SELECT * FROM temperature WHERE device = '{device}'")
                for r in s["rows"]
            ]
            ordered = sorted(rows, key=lambda r: (r["seq"], r["time"]))
            assert merkle_root([reading_leaf(r) for r in ordered]).hex() == seal["merkle_root"]
