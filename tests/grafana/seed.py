"""Known telemetry for one hour (10:00–11:00 UTC) in the shared InfluxDB schema.

Every number the dashboard tests assert follows from the comments here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
HOUR_END = T0 + timedelta(hours=1) - timedelta(milliseconds=1)

ROOM = "urn:epc:id:sgln:4012345.00001.0"  # cold room 1, chilled
REEFER = "urn:epc:id:sgln:4012345.00002.0"
DOCK = "urn:epc:id:sgln:4012345.00003.0"  # site "dock"
RP1 = "urn:epc:id:sgln:4012345.00001.0"
RP2 = "urn:epc:id:sgln:4012345.00004.0"
GTIN = "04012345111118"


def ns(minute: float) -> int:
    return int((T0 + timedelta(minutes=minute)).timestamp() * 1_000_000_000)


def _escape(tag: str) -> str:
    return tag.replace(",", r"\,").replace("=", r"\=").replace(" ", r"\ ")


def temperature() -> list[str]:
    """ROOM: 4 °C for 30 min, 10 °C for 15 min (excursion), 5 °C for 15 min.
    REEFER: 6 °C all hour. DOCK (site dock): 1 °C for the first 10 minutes."""
    lines = []
    for minute in range(60):
        room = 4.0 if minute < 30 else 10.0 if minute < 45 else 5.0
        lines.append(
            f"temperature,device=probe-a,location={_escape(ROOM)},site=cold1 "
            f"celsius={room},seq={minute}i {ns(minute)}"
        )
        lines.append(
            f"temperature,device=probe-b,location={_escape(REEFER)},site=cold1 "
            f"celsius=6.0,humidity=60.0,battery=90.0,seq={minute}i {ns(minute)}"
        )
        if minute < 10:
            lines.append(
                f"temperature,device=probe-c,location={_escape(DOCK)},site=dock "
                f"celsius=1.0,seq={minute}i {ns(minute)}"
            )
    return lines


def coldroom() -> list[str]:
    """Air alternates 3/4 °C (mean 3.5), setpoint 3; compressor 2 kW then 4 kW from 10:30;
    the door opens at 10:12 and 10:40 (closes 10:13, 10:42): the PLC reports changes."""
    lines = []
    for minute in range(60):
        air = 3.0 + (minute % 2)
        kw = 2.0 if minute < 30 else 4.0
        lines.append(
            f"coldroom,location={_escape(ROOM)},plc=plc-1,site=cold1 "
            f"temperature_c={air},setpoint_c=3.0,compressor_kw={kw} {ns(minute)}"
        )
    door: tuple[tuple[float, str], ...] = (
        (12.5, "true"),
        (13.5, "false"),
        (40.5, "true"),
        (42.5, "false"),
    )
    for when, state in door:
        lines.append(
            f"coldroom,location={_escape(ROOM)},plc=plc-1,site=cold1 door_open={state} {ns(when)}"
        )
    return lines


def lots() -> list[str]:
    """Lot L1: ok at 10:20, at_risk at 10:50 (15 of its 60 budget minutes spent: 45
    left, 75 %); in ROOM 10:00–10:50, then REEFER. Lot L2: ok at 10:30, at DOCK from
    10:05, no stability budget (no budget fields)."""
    status = [
        ("L1", 20, "ok", 4.0, 4.0, 4.0, 0.0, ",budget_left_min=60.0,share_left=1.0,beyond_min=0.0"),
        ("L1", 50, "at_risk", 6.1, 4.0, 10.0, 15.0,
         ",budget_left_min=45.0,share_left=0.75,beyond_min=0.0"),
        ("L2", 30, "ok", 1.0, 1.0, 1.0, 0.0, ""),  # a product without a stability budget
    ]  # fmt: skip
    lines = [
        f'lot_status,gtin={GTIN},lot={lot} status="{s}",mkt_c={mkt},min_c={lo},max_c={hi},'
        f"excursion_minutes={exc}{budget} {ns(minute)}"
        for lot, minute, s, mkt, lo, hi, exc, budget in status
    ]
    custody = [("L1", ROOM, 0, 1), ("L1", ROOM, 50, 0), ("L1", REEFER, 50, 1), ("L2", DOCK, 5, 1)]
    lines += [
        f"lot_location,gtin={GTIN},location={_escape(loc)},lot={lot} present={p}i {ns(minute)}"
        for lot, loc, minute, p in custody
    ]
    return lines


def agv() -> list[str]:
    """agv-1: battery 100-minute %, x = minute m, AUTOMATIC then MANUAL from 10:50, two errors
    during 10:20–10:24, 1 m/s. agv-2: battery 50 %, y = minute m, SERVICE, 0.5 m/s."""
    lines = []
    for m in range(60):
        errors = 2 if 20 <= m < 25 else 0
        types = "obstacle,blocked" if errors else ""
        mode = "AUTOMATIC" if m < 50 else "MANUAL"
        lines.append(
            f"agv_state,manufacturer=acme,map_id=wh1,serial=agv-1 x={float(m)},y=0.0,theta=0.0,"
            f'battery_charge={100.0 - m},operating_mode="{mode}",driving=true,velocity=1.0,'
            f'errors={errors}i,error_types="{types}",load_ids="LOAD-{m % 3}" {ns(m)}'
        )
        lines.append(
            f"agv_state,manufacturer=acme,map_id=wh1,serial=agv-2 x=0.0,y={float(m)},theta=1.5,"
            f'battery_charge=50.0,operating_mode="SERVICE",driving=false,velocity=0.5,'
            f'errors=0i,error_types="",load_ids="" {ns(m)}'
        )
    return lines


def rfid() -> list[str]:
    """RP1 (dock-door-1): minutes 0–9, three reads a minute (E1 -50, E1 -50, E2 -60 dBm).
    RP2 (dock-door-2): minutes 30–34, two reads a minute of E3 at -40 dBm."""
    lines = []
    seq = 0
    for m in range(10):
        for second, epc, rssi in ((0, "E1", -50.0), (1, "E1", -50.0), (2, "E2", -60.0)):
            seq += 1
            lines.append(
                f"rfid_read,read_point={_escape(RP1)},reader=dock-door-1,site=cold1 "
                f'epc="{epc}",antenna=1i,rssi={rssi},seq={seq}i {ns(m + second / 60)}'
            )
    for m in range(30, 35):
        for second in (0, 1):
            seq += 1
            lines.append(
                f"rfid_read,read_point={_escape(RP2)},reader=dock-door-2,site=cold1 "
                f'epc="E3",antenna=2i,rssi=-40.0,seq={seq}i {ns(m + second / 60)}'
            )
    return lines


def gateway() -> list[str]:
    """Heartbeats every 10 s. gw-1 all hour: 10 msg/s, lag 20 ms, spool 5 then 50 messages
    (1000 bytes each) from 10:30, dead letters: bad_field +1 a minute, not_json stays 3.
    gw-2 for the first 30 minutes only: 5 msg/s, lag 40 ms, empty spool."""
    lines = []
    for i in range(360):
        minute = i / 6
        depth = 5 if minute < 30 else 50
        lines.append(
            f"gateway_health,gateway=gw-1 received={100 * i}i,written={100 * i}i,"
            f"captured={10 * i}i,dead_lettered={i // 6 + 3}i,spool_depth={depth}i,"
            f"spool_bytes={1000 * depth}i,lag_ms=20.0,rate_msgs_s=10.0 {ns(minute)}"
        )
        lines.append(f"dead_letter,gateway=gw-1,reason=bad_field count={i // 6}i {ns(minute)}")
        lines.append(f"dead_letter,gateway=gw-1,reason=not_json count=3i {ns(minute)}")
        if minute < 30:
            lines.append(
                f"gateway_health,gateway=gw-2 received={50 * i}i,written={50 * i}i,"
                f"captured={5 * i}i,dead_lettered=0i,spool_depth=0i,spool_bytes=0i,"
                f"lag_ms=40.0,rate_msgs_s=5.0 {ns(minute)}"
            )
    return lines


def everything() -> list[str]:
    return temperature() + coldroom() + lots() + agv() + rfid() + gateway()
