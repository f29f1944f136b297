"""TemperatureReading → InfluxDB line protocol (built as plain strings: this is the hot path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sensors.temperature import TemperatureReading

MEASUREMENT = "temperature"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
# Tag keys and values escape comma, equals sign and space (InfluxDB line protocol).
_TAG_ESCAPES = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})


def escape_tag(value: str) -> str:
    return value.translate(_TAG_ESCAPES)


def timestamp_ns(ts: datetime) -> int:
    """Exact nanoseconds since the epoch (integer arithmetic, no float rounding)."""
    return ((ts - _EPOCH) // _MICROSECOND) * 1000


def _float(value: float) -> str:
    # repr is the shortest string that round-trips; InfluxDB parses its exponent form too.
    return repr(float(value))


def temperature_line(site: str, reading: TemperatureReading) -> str:
    """One point: tags site/location/device, fields celsius/humidity/battery/seq, ts in ns.

    The same reading always gives the same series and timestamp, so a redelivered
    message overwrites its own point instead of adding one.
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
        f"location={escape_tag(reading.location)},site={escape_tag(site)} "
        f"{fields} {timestamp_ns(reading.ts)}"
    )
