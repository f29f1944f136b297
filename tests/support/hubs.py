"""Settings for a whole hub in a test: on the suite's shared services, no environment.

``hub_settings`` is what the running-hub tests (readiness, access, carbon through the
hub) start from: the shared mosquitto (plain on loopback, said explicitly), the shared
InfluxDB with a database of the test's own, records and ledger in the test's state
folder, anchoring only when the test wakes the loop, the web server on a free port.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from tracehub.services import InfluxDB, Mosquitto
from tracehub.settings import (
    ChainSettings,
    HubSettings,
    InfluxSettings,
    MqttSettings,
    RecordsSettings,
    Settings,
    WebSettings,
)


def hub_settings(
    state: Path, site: str, mosquitto: Mosquitto, influxdb: InfluxDB, web: WebSettings | None = None
) -> Settings:
    return Settings(
        hub=HubSettings(state_dir=state, site=site),
        mqtt=MqttSettings(
            host=mosquitto.host,
            port=mosquitto.port,
            client_id=f"gw-{uuid.uuid4().hex[:8]}",
            security="plain",
        ),
        influx=InfluxSettings(url=influxdb.url, database=f"{site}_{uuid.uuid4().hex[:8]}"),
        records=RecordsSettings(),
        chain=ChainSettings(anchor_interval_s=3600),  # the test wakes the loop itself
        web=web or WebSettings(port=0),
    )
