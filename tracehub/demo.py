"""The demo site: one vaccine lot, a dock door with an RFID reader, two probes.

``run_demo`` is what ``make demo`` runs: local mosquitto and influxd, the hub on
its embedded default (SQLite, in-process EVM), simulated devices, and the URLs
and the verify command printed for a person to try.
"""

from __future__ import annotations

import shutil
import threading
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta

from rich.console import Console
from rich.panel import Panel

from gateway.devices.access import Identity
from gateway.observation import ReadPointProfile
from gs1.identifiers import sgtin_urn
from sensors.simulator import ProbeSpec, ReaderSpec, SimulatorSpec, run_simulators
from traceability.carbon.assessment import compute_report
from traceability.carbon.ledgerreport import Published, publish_report
from traceability.carbon.records import RecordsCarbonSource
from traceability.errors import TraceabilityError
from traceability.masterdata.service import MasterData
from traceability.records.locations import Location
from traceability.records.rows import LotRow
from traceability.records.shipments import HubActivity, Leg, ShipmentLot, ShipmentRow
from traceability.records.store import RecordStore
from tracehub.consolesite import first_admin
from tracehub.hub import Hub
from tracehub.localstack import start_local_services
from tracehub.scenario import Play, Scenario
from tracehub.settings import Settings
from tracehub.site import device_auth, open_device_registry, provision_devices

# GS1's example company prefix range; the check digit is verified in the tests.
GTIN = "04012345111118"
COMPANY_PREFIX = "4012345"
ITEM_REFERENCE = "011111"
LOT = "L2026-11A"
SERIALS = range(1001, 1101)
PRODUCT_NAME = "Influenza vaccine, 10 x 0.5 ml pre-filled syringes"
TEMP_MIN_C, TEMP_MAX_C = 2.0, 8.0
EXCURSION_BUDGET_MIN = 60.0
# Its stability budget per step: up to 60 min above the band at <= 25 °C, as vaccine
# stability data commonly allow; warmer, or any time below the band (freezing risk), is
# beyond every step: compromised.
STABILITY_BUDGET = "above:25:60"

WAREHOUSE = "tracehub demo cold store"
DOCK_DOOR = "urn:epc:id:sgln:4012345.00001.dock1"
COLD_ROOM = "urn:epc:id:sgln:4012345.00001.cold1"
DOCK_DOOR_NAME = "Dock door 1, Marburg cold store"
COLD_ROOM_NAME = "Cold room 1 (2–8 °C), Marburg cold store"
# The lot's way to the cold store, for its carbon footprint (ISO 14083 / GLEC defaults):
# a reefer truck from the plant to a cross-dock, handling there, a smaller reefer on.
PLANT = "urn:epc:id:sgln:4012345.00002.0"
PLANT_NAME = "Vaccine plant, Dessau"
CROSS_DOCK = "urn:epc:id:sgln:4012345.00003.0"
CROSS_DOCK_NAME = "Cross-dock, Kassel"
SHIPMENT = "DEMO-S1"
LOT_GROSS_KG = 150.0  # 100 packs with their shipping cartons
READ_POINTS = {
    DOCK_DOOR: ReadPointProfile(biz_step="receiving", disposition="in_progress"),
}


def unit_urn(serial: int) -> str:
    return sgtin_urn(COMPANY_PREFIX, ITEM_REFERENCE, str(serial))


def scenario_devices(site: str, units: int = 3) -> SimulatorSpec:
    """Probes at the dock door and in the cold room; the dock reader sees ``units`` units."""
    return SimulatorSpec(
        site=site,
        probes=(
            ProbeSpec(device_id="probe-dock1-01", location=DOCK_DOOR, setpoint_c=5.0),
            ProbeSpec(device_id="probe-cold1-01", location=COLD_ROOM, setpoint_c=4.0),
        ),
        readers=(
            ReaderSpec(
                reader_id="dock-door-1",
                read_point=DOCK_DOOR,
                epcs=tuple(unit_urn(s) for s in list(SERIALS)[:units]),
            ),
        ),
        seed=2026,
    )


def identities(spec: SimulatorSpec) -> tuple[Identity, ...]:
    """The demo devices' broker identities (provisioned into the state folder at start)."""
    return (
        *(Identity(kind="temperature", site=spec.site, device_id=p.device_id) for p in spec.probes),
        *(Identity(kind="rfid", site=spec.site, device_id=r.reader_id) for r in spec.readers),
    )


def seed(target: MasterData | RecordStore, today: date | None = None) -> None:
    """Register the demo product, lot and places (idempotent).

    Through ``MasterData`` (the hub's ``hub.master``) each is also signed as a version
    of its ledger stream, which the lot page and ``tracehub verify`` hold the records
    against; a bare ``RecordStore`` (tests without a ledger) writes them unsigned.
    """
    produced = today or datetime.now(UTC).date()
    store = target.store if isinstance(target, MasterData) else target
    # A stability budget as vaccine makers publish them: short excursions (a door left
    # open) put the lot at risk; only a long one, or a high MKT, compromises it.
    target.add_product(
        GTIN,
        PRODUCT_NAME,
        temp_min_c=TEMP_MIN_C,
        temp_max_c=TEMP_MAX_C,
        excursion_budget_min=EXCURSION_BUDGET_MIN,
        mkt_limit_c=TEMP_MAX_C,
        shelf_life_days=365,
        stability_budget=STABILITY_BUDGET,
    )
    # Through the import path: it also records the lot's gross mass (carbon allocation).
    target.import_lots(
        [
            LotRow(
                gtin=GTIN,
                lot=LOT,
                expiry=produced + timedelta(days=365),
                origin="Marburg, DE",
                quantity=len(SERIALS),
                gross_kg=LOT_GROSS_KG,
                serials=f"{SERIALS[0]}-{SERIALS[-1]}",
            )
        ]
    )
    # Consumers see place names, never the SGLN URNs the readers report.
    for urn, name, kind, custodian, (lat, lon) in (
        (DOCK_DOOR, DOCK_DOOR_NAME, "dock_door", WAREHOUSE, (50.8021, 8.7667)),
        (COLD_ROOM, COLD_ROOM_NAME, "cold_room", WAREHOUSE, (50.8021, 8.7667)),
        (PLANT, PLANT_NAME, "site", "tracehub demo vaccines", (51.8333, 12.2333)),
        (CROSS_DOCK, CROSS_DOCK_NAME, "site", "tracehub demo carrier", (51.3127, 9.4797)),
    ):
        target.add_location(
            Location(
                urn=urn,
                name=name,
                kind=kind,
                custodian=custodian,
                latitude=lat,
                longitude=lon,
                country="DE",
            )
        )
    seed_shipment(store)


def seed_shipment(store: RecordStore) -> None:
    """The demo lot's shipment: two refrigerated road legs and a cross-dock (idempotent)."""
    store.import_shipments(
        [
            ShipmentRow(
                id=SHIPMENT,
                origin=PLANT_NAME,
                destination=WAREHOUSE,
                carrier="tracehub demo carrier",
            )
        ]
    )
    store.add_shipment_lot(
        ShipmentLot(
            shipment_id=SHIPMENT, gtin=GTIN, lot=LOT, gross_kg=LOT_GROSS_KG, units=len(SERIALS)
        )
    )
    for seq, origin, destination, vehicle_class, km in (
        (1, PLANT, CROSS_DOCK, "rigid-12-20t", 290.0),
        (2, CROSS_DOCK, DOCK_DOOR, "rigid-3.5-7.5t", 110.0),
    ):
        store.add_leg(
            Leg(
                shipment_id=SHIPMENT,
                seq=seq,
                from_location=origin,
                to_location=destination,
                mode="road",
                vehicle_class=vehicle_class,
                temperature_controlled=True,
                distance_km=km,
                payload_kg=LOT_GROSS_KG,
            )
        )
    store.add_hub_activity(
        HubActivity(
            shipment_id=SHIPMENT,
            id="kassel-xdock",
            location=CROSS_DOCK,
            activity="cross_dock",
            hub_type="transshipment-mixed",
            throughput_kg=LOT_GROSS_KG,
        )
    )


def anchor_footprint(hub: Hub, now: datetime | None = None) -> Published:
    """The demo lot's carbon report into the ledger, as `tracehub carbon report --anchor`
    does: computed from the records, kept as a leaf of the lot's chain, anchored with
    the hub's next batch (the same figures again add nothing)."""
    moment = now or datetime.now(UTC)
    _, report = compute_report(
        RecordsCarbonSource(hub.store), GTIN, LOT, created=moment, power=hub.coldroom_power
    )
    return publish_report(hub.ledger, hub.signer, GTIN, LOT, report, moment)


def lot_path() -> str:
    return f"/01/{GTIN}/10/{LOT}"


def run_demo(
    settings: Settings,
    console: Console,
    stop: threading.Event,
    scenario: Scenario | None = None,
) -> None:
    """Run until ``stop`` is set (Ctrl-C); everything started is stopped on the way out.
    ``scenario``: played beside the demo (``tracehub.scenario``: an excursion, end to end)."""
    state = settings.hub.state_dir / "demo"
    # The embedded EVM lives only as long as this process: records anchored on an
    # earlier run could never verify against it, so each demo starts clean.
    shutil.rmtree(state, ignore_errors=True)
    settings = settings.model_copy(
        update={
            "hub": settings.hub.model_copy(update={"state_dir": state}),
            # A demo is for looking around: the EPCIS/lot read API needs no token here.
            # Capture still does (`tracehub clients add`), as do the auditor endpoints.
            "web": settings.web.model_copy(update={"public_read": True}),
            # Its subscribers' receivers run on this machine (loopback).
            "subscriptions": settings.subscriptions.model_copy(update={"public_only": False}),
        }
    )
    with ExitStack() as stack:
        devices = scenario_devices(settings.hub.site)
        play = Play(scenario, console) if scenario is not None else None
        if play is not None:
            settings = play.configure(settings, stack)  # its receivers, rules and channels
            devices = play.devices(devices)
        with console.status("provisioning the demo devices, starting mosquitto and InfluxDB"):
            # TLS + one identity per device unless TRACEHUB_MQTT_SECURITY=plain.
            settings = start_local_services(settings, stack, identities(devices))
            # Each probe placed at its room and the reader at its dock door: the gateway
            # stores readings and observes reads there (TLS or not).
            provision_devices(open_device_registry(settings), devices)
        with console.status("starting the hub (records, embedded EVM, gateway, web)"):
            hub = Hub(settings, read_points=READ_POINTS)
            stack.callback(hub.stop)
            hub.open()  # records first, so the demo lot is there before any read
            seed(hub.master)  # signed: the page and `tracehub verify` hold the records to it
            anchor_footprint(hub)  # lands in the first batches; `tracehub verify` covers it
            login = first_admin(settings, hub.store)
            hub.start()
            if not hub.gateway.wait_ready(timeout=15):
                raise RuntimeError("the gateway did not connect to mosquitto")
        assert settings.mqtt.port is not None
        sim_stop = threading.Event()
        sim = threading.Thread(
            target=run_simulators,
            args=(settings.mqtt.host, settings.mqtt.port, devices, sim_stop),
            kwargs={
                "interval_s": 2.0,
                "client_id": "tracehub-demo-devices",
                "auth_for": device_auth(settings),
            },
            name="simulators",
            daemon=True,
        )
        sim.start()
        stack.callback(sim.join, 10)
        stack.callback(sim_stop.set)
        page = f"{hub.url}{lot_path()}"
        broker = (
            f"mqtts://{settings.mqtt.host}:{settings.mqtt.port}  (TLS, client certificates; "
            f"devices in {settings.devices_dir})"
            if settings.mqtt.security == "tls"
            else f"mqtt://{settings.mqtt.host}:{settings.mqtt.port}  (plain, no auth)"
        )
        console.print(
            Panel.fit(
                f"[bold]consumer page[/]  {page}\n"
                f"[bold]console[/]        {hub.url}/console  ({login})\n"
                f"health         {hub.url}/healthz\n"
                f"MQTT broker    {broker}\n"
                f"InfluxDB       {settings.influx.url}  (database {settings.influx.database})\n"
                f"chain          {hub.chain.name}, read-only RPC at {hub.rpc_url}\n"
                f"records        {settings.records_url}",
                title="tracehub demo",
            )
        )
        with console.status("waiting for the first RFID reads to be anchored"):
            while not hub.anchoring.anchored.wait(0.5):
                if stop.is_set():
                    return
        last = hub.anchoring.last
        if last is not None:
            console.print(
                f"anchored batch {last.batch_id}: {last.size} leaves (events, the lot's carbon "
                f"report), root {last.root.hex()}, "
                f"block {last.block_number}, tx {last.tx_hash}"
            )
        console.print("\n[bold]verify it[/] (in another shell, while the demo runs):")
        # soft_wrap: the command must stay on one line to be copied and pasted
        console.print(
            f"  .venv/bin/tracehub verify --gtin {GTIN} --lot {LOT} "
            f"--records {settings.records_url} --rpc-url {hub.rpc_url} "
            f"--trust {hub.url}/.well-known/tracehub.json",  # the site's keys, out of band
            soft_wrap=True,
            highlight=False,
        )
        if play is not None:
            _play(play, hub, console, stop, page)
        console.print("\nPress Ctrl-C to stop.")
        stop.wait()
        console.print("stopping…")


def _play(play: Play, hub: Hub, console: Console, stop: threading.Event, page: str) -> None:
    """The scenario's incident, to its end: put away, excursion, people's steps, anchored."""
    console.print(f"\n[bold]scenario[/] {play.scenario.title}")
    if stop.wait(8):  # the dock door has read its units by now
        return
    play.put_away(hub, [unit_urn(s) for s in list(SERIALS)[:3]])
    with console.status("waiting for the excursion, its alarm and the people on duty"):
        try:
            play.run(hub, stop)
        except TraceabilityError as exc:  # a step the lifecycle refuses: say it, keep running
            console.print(f"[red]scenario stopped[/]: {exc}", highlight=False)
            return
    if not play.done.is_set():
        return
    with console.status("anchoring the incident's signed steps"):
        hub.anchoring.anchored.clear()
        hub.anchoring.wake()
        hub.anchoring.anchored.wait(60)
    hub.pages.invalidate_all()
    console.print(f"[bold]the lot page now tells what happened[/]  {page}")
