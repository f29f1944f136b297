"""Master data as versioned, signed ledger records: what a page says about a product,
a lot and a place is what the site signed and anchored.

Every product, lot and location has its own ledger stream (``product:{gtin14}``,
``lot-master:{gtin14}/{lot}``, ``location-master:{urn}``); each change made through tracehub's
own write paths is a new version in it (``version``, ``valid_from``, every field), signed
by the site and hash-chained after the previous one, so the old value stays readable.

* ``versions``  the version record, stream names and the fields of each kind (pure)
* ``history``   the signed versions of a stream, read from a ledger store or from an
  evidence bundle, with their anchoring state (pure over bundle data)
* ``service``   ``MasterData``: writes the records (SQL) and signs the new versions in
  the same call — never a job that signs whatever the table holds
* ``compare``   the records' current master data against the signed versions (pure):
  what ``tracehub verify`` says about each field
* ``facts``     what the lot page may claim: each fact's state, places as the anchored
  version valid at the time of a stay

The records store stays SQL-only: it hands what it commits to a callback
(``before_commit``); the service signs it once the records have committed (the crash
window is in ``service``'s docstring).
"""
