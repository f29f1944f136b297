"""Carbon footprint per lot and per shipment, after ISO 14083 and the GLEC Framework.

Pure core: ``factors`` (emission factor table, default and primary), ``distance``
(great circle × detour), ``chain`` (the input: shipments, legs, hubs, cold-room
stays, packaging), ``energy`` (kWh from a compressor power series), ``allocation``
(shares by mass, pallet positions × time), ``footprint`` (line items and totals as
values), ``calculation`` (computing them)
and ``report`` (PACT/iLEAP-shaped JSON, canonical bytes, ledger leaf).
Adapters at the edge: ``coldroom`` (InfluxDB ``coldroom`` measurement) and
``source`` (where a lot's carbon input comes from).
"""
