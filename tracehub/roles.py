"""The roles a ``tracehub run`` process takes, and what a split deployment must share.

* ``gateway``: MQTT/OPC UA ingest into InfluxDB, RFID and AGV events into capture, and
  the sealing of the telemetry windows it received (seals come from the readings as
  received, so they are sealed where they are received: there is no separate sealing
  process). Replicas split the devices by ``TRACEHUB_GATEWAY_PARTITION`` (docs/gateway.md).
* ``web``: the consumer pages, the EPCIS API, the console, the capture jobs' worker and
  the subscriptions' delivery. Replicas behind a load balancer: jobs and deliveries are
  claimed with leases in the records.
* ``anchor``: batches and anchors the ledger. Replicas: the ledger's lease picks the one
  that anchors, the others take over when it stops renewing.
* ``alarm``: evaluates the alarm rules (one replica at a time, the ``alarms`` lease in
  the records) and sends the notifications (each claimed before it is sent).

``all`` (the default) is every role in one process, with whatever the settings leave
unset spawned locally. A process with fewer roles spawns nothing: it is one of several,
so what they share must be named (``split_problems``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from tracehub.settings import Settings

Role = Literal["gateway", "web", "anchor", "alarm"]
ROLES: tuple[Role, ...] = get_args(Role)
ALL: frozenset[Role] = frozenset(ROLES)
CHOICES = (*ROLES, "all")


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """The roles named (``all`` or none: every role); raises ValueError naming a bad one."""
    roles: set[Role] = set()
    for name in names:
        if name == "all":
            return ALL
        if name not in ROLES:
            raise ValueError(f"unknown role {name!r}: use one of {', '.join(CHOICES)}")
        roles.add(name)  # checked against ROLES just above
    return frozenset(roles) or ALL


def roles_text(roles: Iterable[str]) -> str:
    chosen = frozenset(roles)
    return "all" if chosen == ALL else ",".join(r for r in ROLES if r in chosen)


def split_problems(settings: Settings, roles: frozenset[Role]) -> list[str]:
    """What a process with only ``roles`` lacks to join the others: each a variable to
    set and why. Empty for ``all`` (it spawns what is unset)."""
    if roles == ALL:
        return []
    problems = []
    if settings.records.url is None:
        problems.append(
            "TRACEHUB_RECORDS_URL: every instance must use one records database "
            "(e.g. postgresql+psycopg://tracehub@db/tracehub)"
        )
    if settings.ledger.keys_dir is None:
        problems.append(
            "TRACEHUB_LEDGER_KEYS_DIR: the site's signing keys and the anchor contract's "
            "address, one folder every instance reads, else each would sign with a key and "
            "anchor into a contract of its own"
        )
    if settings.influx.url is None:
        problems.append("TRACEHUB_INFLUX_URL: the InfluxDB every instance reads and writes")
    if settings.chain.rpc_url is None:
        problems.append("TRACEHUB_CHAIN_RPC_URL: the EVM node the anchors are on")
    if "gateway" in roles and settings.mqtt.port is None:
        problems.append("TRACEHUB_MQTT_HOST and TRACEHUB_MQTT_PORT: the broker")
    if roles & {"gateway", "web"} and settings.devices.dir is None:
        problems.append(
            "TRACEHUB_DEVICES_DIR: the device registry (where each probe is placed), shared"
        )
    return problems
