"""Device vocabulary and simulators: what probes, readers, PLCs and AGVs say.

Message models (pure): ``topics`` (the ``tracehub/v1/{site}/{kind}/{id}`` scheme),
``fields`` (ids, SGLN locations through ``gs1.identifiers``, UTC timestamps),
``temperature``, ``rfid``, ``coldroom`` (OPC UA values) and ``agv`` (VDA 5050 v2,
validated against the schemas under ``schemas/``), ``loggers/`` (USB data-logger CSV
exports parsed into readings: generic, LogTag-style, Elitech/Tempmate-style).
Configuration: ``credentials`` (TLS and password of an MQTT client, applied to paho) and
``scenario`` (a site file). Simulators, the adapters (paho, asyncua): ``simulator``
(probes and RFID readers), ``agv_sim`` and ``coldroom_server``. ``errors`` draws the
error tree. It imports only ``gs1``.
"""
