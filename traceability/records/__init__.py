"""The records database: all of traceability's SQL, its schema and its migrations.

``store.RecordStore`` is the one object callers hold, assembled from one mixin per kind
of record over ``database.Database`` (engine, per-call transactions, schema upgrade on
open, one transaction per import file): ``catalog`` (products, lots, units, logistic
units), ``locations``, ``shipments`` (their lots, legs and hub activities), ``stays``,
``packaging``, ``primaryfactors`` (the user's own emission factors, as JSON),
``eventlog`` (captured EPCIS events and their EPC links) and ``batchlog`` (anchored
batches mirrored from the ledger). Values: ``entities`` (what the store returns),
``rows`` (import rows of products and lots, serial ranges; pure), ``stability`` (a
product's stability budget steps and their text form; pure). ``insertion`` is the
write-once rule the logistics records share. ``schema`` holds the tables at the newest
migration; ``migrate`` runs Alembic over ``migrations/``. The lowest traceability
layer: it imports no other traceability package but ``traceability.errors``.
"""
