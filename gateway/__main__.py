"""Run one gateway process on its own: ``python -m gateway --config gateway.json``.

The config file is a GatewayConfig as JSON. Without a traceability service the
EPCIS events go to an outbox next to the spool (gateway/outbox.py) and the
sealed telemetry windows to a JSON-lines file. SIGTERM/SIGINT stop it in order
(nothing acknowledged is lost either way: the spool is on disk). ``--stats``
writes counters, latency percentiles and peak RSS as JSON on the way out.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import statistics
import threading
from pathlib import Path
from typing import Any

from gateway.config import GatewayConfig
from gateway.outbox import OutboxCapture
from gateway.runtime import build_gateway


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="GatewayConfig as JSON")
    parser.add_argument("--stats", type=Path, help="write counters/latency/RSS JSON at exit")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(message)s")
    config = GatewayConfig.model_validate_json(args.config.read_text())
    outbox = OutboxCapture(config.resolved_spool_path.parent / "epcis-outbox.sqlite3")
    runtime = build_gateway(config, outbox)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start()
    if runtime.wait_ready(30):
        print("READY", flush=True)
    stop.wait()
    runtime.stop()
    outbox.close()
    if args.stats:
        lags = sorted(runtime.gateway.lags_ms)
        stats: dict[str, Any] = {
            **runtime.counters.model_dump(),
            "lag_p50_ms": _percentile(lags, 0.5),
            "lag_p99_ms": _percentile(lags, 0.99),
            "peak_rss_mb": _peak_rss_mb(),
        }
        args.stats.write_text(json.dumps(stats))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
