"""``tracehub status``: the gateways' health and dead-letter counters, from InfluxDB."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from tracehub.console import console
from tracehub.settings import Settings


@click.command()
@click.option("--influx-url", help="InfluxDB v1 API URL (default: TRACEHUB_INFLUX_URL).")
@click.option("--database", help="Database (default: TRACEHUB_INFLUX_DATABASE).")
@click.pass_obj
def status(settings: Settings, influx_url: str | None, database: str | None) -> None:
    """Show each gateway's latest health point (ingest rate, lag, spool) and dead letters."""
    from influx.client import InfluxClient
    from influx.errors import InfluxError

    url = influx_url or settings.influx.url
    if url is None:
        raise click.UsageError("set TRACEHUB_INFLUX_URL or pass --influx-url")
    with InfluxClient(url, database or settings.influx.database) as influx:
        try:
            health = influx.query("SELECT last(*) FROM gateway_health GROUP BY gateway")
            dead = influx.query("SELECT last(count) FROM dead_letter GROUP BY gateway, reason")
        except InfluxError as exc:
            raise click.ClickException(f"cannot read InfluxDB at {url}: {exc}") from exc
    if not health:
        console.print("no gateway has reported health yet (gateway_health is empty)")
        return
    table = Table(title="gateways")
    columns = ["received", "written", "captured", "dead_lettered", "rate_msgs_s", "lag_ms",
               "spool_depth", "spool_bytes", "spool_full_pct"]  # fmt: skip
    table.add_column("gateway")
    table.add_column("as of")
    for column in columns:
        table.add_column(column, justify="right")
    for series in health:
        row = series.rows()[0]
        table.add_row(
            series.tags.get("gateway", "?"),
            _time(row.get("time")),
            *(_fmt(row.get(f"last_{c}")) for c in columns),
        )
    console.print(table)
    if dead:
        letters = Table(title="dead letters (cumulative)")
        for column in ("gateway", "reason", "count"):
            letters.add_column(column, justify="right" if column == "count" else "left")
        for series in dead:
            letters.add_row(
                series.tags.get("gateway", "?"), series.tags.get("reason", "?"),
                _fmt(series.rows()[0].get("last")),
            )  # fmt: skip
        console.print(letters)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _time(ns: Any) -> str:
    from datetime import UTC, datetime

    if not isinstance(ns, int):
        return "-"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
