"""Observations → InfluxDB line protocol (built as plain strings: this is the hot path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sensors.agv import AgvState
from sensors.coldroom import ColdRoomChange
from sensors.rfid import TagRead
from sensors.temperature import TemperatureReading

MEASUREMENT = "temperature"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Tag keys and values escape comma, equals sign and space (InfluxDB line protocol).
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})


@lru_cache(maxsize=65_536)  # tag values repeat on every point of a series
def escape_tag(value: str) -> str:
    return value.translate(_TAG_ESCAPES)


def timestamp_ns(ts: datetime) -> int:
    """Exact nanoseconds since the epoch (integer arithmetic, no float rounding)."""
    return ((ts - _EPOCH) // _MICROSECOND) * 1000


def _float(value: float) -> str:
    # repr is the shortest string that round-trips; InfluxDB parses its exponent form too.
    return repr(float(value))


def temperature_line(site: str, reading: TemperatureReading, location: str) -> str:
    """One point: tags site/location/device, fields celsius/humidity/battery/seq, ts in ns.

    ``location`` is where the device is placed (the device directory), never the
    payload's claim. The same reading always gives the same series and timestamp.
    """
    fields = f"celsius={_float(reading.celsius)}"
    if reading.humidity is not None:
        fields += f",humidity={_float(reading.humidity)}"
    if reading.battery is not None:
        fields += f",battery={_float(reading.battery)}"
    fields += f",seq={reading.seq}i"
    # Tags in key order, which is what InfluxDB recommends for write performance.
    return (
        f"{MEASUREMENT},device={escape_tag(reading.device_id)},"
        f"location={escape_tag(location)},site={escape_tag(site)} "
        f"{fields} {timestamp_ns(reading.ts)}"
    )


# --- the other measurements (shared schema in docs/gateway.md) -------------------------
# Every field has one fixed type per measurement, written the same way every time
# (floats always with a decimal point, integers with 'i'), so a value that happens to
# be whole can never turn a float field into an integer one and block later batches.


def _str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _tags(tags: dict[str, str]) -> str:
    # Sorted by key (InfluxDB's advice); empty tag values are left out (not allowed).
    return "".join(f",{k}={escape_tag(v)}" for k, v in sorted(tags.items()) if v)


def rfid_line(site: str, read: TagRead, read_point: str) -> str:
    """``rfid_read``: tags site, reader, read_point; fields epc, antenna, rssi, seq.
    ``read_point``: where the registry places the reader (not the payload's claim)."""
    return (
        f"rfid_read{_tags({'site': site, 'reader': read.reader_id, 'read_point': read_point})}"
        f" epc={_str(read.epc)},antenna={read.antenna}i,rssi={_float(read.rssi)},seq={read.seq}i"
        f" {timestamp_ns(read.ts)}"
    )


def agv_line(state: AgvState) -> str:
    """``agv_state``: tags manufacturer, serial, map_id; position, battery, mode, errors..."""
    fields = []
    for name, value in (("x", state.x), ("y", state.y), ("theta", state.theta)):
        if value is not None:
            fields.append(f"{name}={_float(value)}")
    fields.append(f"battery_charge={_float(state.battery_charge)}")
    fields.append(f"operating_mode={_str(state.operating_mode)}")
    fields.append(f"driving={_bool(state.driving)}")
    if state.velocity is not None:
        fields.append(f"velocity={_float(state.velocity)}")
    fields.append(f"errors={len(state.errors)}i")
    fields.append(f"error_types={_str(','.join(state.errors))}")
    if state.load_ids is not None:
        fields.append(f"load_ids={_str(','.join(state.load_ids))}")
    tags = {
        "manufacturer": state.manufacturer,
        "serial": state.serial,
        "map_id": state.map_id or "",
    }
    return f"agv_state{_tags(tags)} {','.join(fields)} {timestamp_ns(state.timestamp)}"


def coldroom_line(change: ColdRoomChange) -> str:
    """``coldroom``: tags site, location, plc; one field per data change."""
    value = _bool(change.value) if isinstance(change.value, bool) else _float(change.value)
    tags = {"site": change.site, "location": change.location, "plc": change.plc}
    return f"coldroom{_tags(tags)} {change.quantity}={value} {timestamp_ns(change.ts)}"


def health_line(gateway: str, values: dict[str, int | float], ts_ns: int) -> str:
    """``gateway_health``: ints for counters and depths, floats for rates and lags."""
    fields = ",".join(
        f"{k}={v}i" if isinstance(v, int) else f"{k}={_float(v)}" for k, v in sorted(values.items())
    )
    return f"gateway_health{_tags({'gateway': gateway})} {fields} {ts_ns}"


def dead_letter_line(gateway: str, code: str, count: int, ts_ns: int) -> str:
    """``dead_letter``: tags gateway, reason; field count (cumulative)."""
    return f"dead_letter{_tags({'gateway': gateway, 'reason': code})} count={count}i {ts_ns}"
