"""The ledger's SQL store (SQLAlchemy; SQLite by default, PostgreSQL for several workers).

* ``sqlstore``  ``LedgerStore``: one object over one database, assembled from
* ``database``  the engine, transactions, time columns
* ``entrylog``  submitting signed leaves, their hash-chain links, keys, reads
* ``batchlog``  cutting batches, proofs, the fenced moves onto the chain
* ``lease``     the anchoring lease and its fencing token
* ``setaside``  entries set aside instead of stopping the batches behind them
* ``earliest``  the first kept records of a kind, for the retention check
* ``schema``    the tables (``ledger_*``), portable SQLite ↔ PostgreSQL
* ``upgrade``   adds the columns an older database lacks, at open
* ``keystore``  keys at rest: signing keys and the anchoring account, encrypted PKCS#8
"""
