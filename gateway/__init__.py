"""The gateway: device messages in, InfluxDB points, EPCIS events and evidence out, lossless.

Sources (mqtt, opcua) → spool → drain → pipeline → InfluxDB / capture port, with dead
letters, telemetry window sealing and health on the side. Pure modules: ``decode``
(bytes to validated observations or a ``Rejection``; never raises), ``lineprotocol``
(observations to InfluxDB lines), ``observation`` (custody observations to EPCIS
ObjectEvents, read-point and AGV profiles), ``config`` (``GatewayConfig``), ``capture``
(the port traceability serves), ``admission`` (whether a decoded observation may be
stored: device clock, placement, redelivery vs conflict). Services that speak to ports:
``pipeline`` (``Gateway``: one batch decoded, admitted, written, captured and
dead-lettered, committed with its state), ``tagreads`` (its RFID path: a read at its
reader's placement, de-duplicated by receive time), ``drain`` (spool to pipeline,
retrying transient failures; supervised like the MQTT spooler), ``completeness`` (the
readings filed per device window, the sealed record, its evidence port and the sealer
thread), ``health`` (``gateway_health`` and ``dead_letter`` points). Adapters: ``mqtt``
(paho) and ``opcua`` (asyncua) sources, ``spool`` (durable SQLite queue), ``deadletter``
(SQLite store), ``influx`` (the InfluxDB sink), ``outbox`` (a SQLite capture port for a
gateway on its own), ``loggerfile`` (a USB data-logger file's readings appended to the
spool from another process, and their outcome read back). ``runtime`` builds the
adapters from a config (no I/O) and starts and stops them; ``__main__`` runs one gateway
process. ``devices/`` is the device registry (identities, site CA, broker access).
``errors`` draws the error tree. It imports ``sensors``, ``gs1``, ``influx``, ``ledger``
and ``supervision`` only.
"""
