"""Carbon footprint per lot and per shipment, after ISO 14083 and the GLEC Framework.

Pure core: ``factors`` (emission factor table, default and primary), ``distance``
(great circle × detour), ``chain`` (the input: shipments, legs, hubs, cold-room
stays, packaging), ``energy`` (kWh from a compressor power series), ``allocation``
(shares by mass, pallet positions × time), ``footprint`` (line items and totals as
values), ``calculation`` (computing them) and ``report`` (PACT/iLEAP-shaped JSON,
canonical bytes, ledger leaf). ``assessment`` is the one compute path (input → stays'
energy → calculation → report) that the CLI, the demo and the lot page share.
Adapters at the edge: ``source`` (where a lot's input comes from: a JSON file) and
``records`` (from the records database), ``coldroom`` (InfluxDB ``coldroom``
measurement), ``ledgerreport`` (a report kept as a leaf of the lot's chain, read back
with its anchor) and ``lotfootprint`` (what the lot page shows). ``errors`` draws the
error tree.
"""
