"""Cold-chain exposure of a lot: where it was × what the temperature was there.

Pure: ``mkt`` (Mean Kinetic Temperature, USP <1079>, time-weighted), ``probes`` (one
probe's readings held over one stay: exact minutes out of range), ``budget`` (the product's
stability budget per temperature step, spent by the lot's time out of range). Service:
``exposure`` (the lot's custody stays joined with each location's probes, each judged
alone, the worst shown, through the ``TemperatureSeries`` port → min/max/mean, MKT,
minutes out of range, excursions, and a status judged against the product's profile).
Adapters (InfluxDB v1 API, through
``influx``): ``telemetry`` (temperature buckets and points) and ``status`` (the
``lot_status`` / ``lot_location`` points Grafana shows, and the exposure EPCIS event).
The console's door state: ``doors`` (pure: ``DoorState`` and the ``DoorReader`` port)
and ``doortelemetry`` (its adapter over the cold-room PLC's ``coldroom`` points).
A room's sensor-only EPCIS events are probes too (issue #15): ``sensorreadings`` (pure:
the temperature readings of an event body, ``epcis:<deviceID>`` probes) and
``eventsensors`` (the port over the records' sensor events, and ``CombinedSeries``
joining them with the gateway's InfluxDB probes).
"""
