"""The lot's story: what happened to a lot, where, at what temperature, at what carbon cost.

Top-level modules: ``capture`` (validate EPCIS 2.0 events, link their EPCs to lots, store
each once), ``capturerules`` (what capture does not know about an event, as warnings and
event flags, never refusals), ``imports`` (the one table of import kinds, and ERP/WMS
CSV/JSON files validated whole through it), ``custody`` (where a unit, lot or SSCC was
and who held it, derived from the events), ``carriers`` (the lots a pallet or asset held
when an event named it: capture signs the event into their streams), ``expiry`` (FEFO and
near-expiry warnings, pure), ``retention`` (whether a raw-readings retention keeps what
the compliance period and the sealed telemetry need, pure), ``inventory`` (an RFID cycle
count against the records) and ``errors`` (the error tree). Subpackages: ``records/``
(all SQL: the records store, its schema and migrations; the lowest layer), ``coldchain/``
(``mkt`` pure, exposure, InfluxDB telemetry and lot status), ``anchoring/`` (events and
lot records into the ledger, the anchoring loop, evidence bundles and their verification)
and ``carbon/`` (ISO 14083 footprints, one compute path). It imports ``gs1``, ``influx``
and ``ledger``, never ``gateway``, ``web`` or ``tracehub``.
"""
