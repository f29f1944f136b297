"""Bytes in, proofs out: canonical JSON, signed entries, Merkle batches, anchoring, evidence.

The ledger knows bytes, not lots. Pure modules: ``canonical`` (RFC 8785, numbers in
``es6number``), ``digest`` (SHA-256), ``merkle`` (RFC 6962), ``signing`` (Ed25519 keys
with validity periods), ``entry`` (the signed, hash-chained leaf), ``fees`` (EIP-1559
under a ceiling), ``anchor`` and ``batch`` (port models), ``evidence`` (bundle format),
``verifier`` (bundle checks, built from ``report``, ``streamcheck``, ``batchcheck`` and
``manifestcheck``). Adapters: ``keystore`` (encrypted PKCS#8 files), ``store``
(SQLAlchemy, assembled from ``database``, ``entrylog``, ``batchlog`` and ``lease``)
and ``schema``, ``chain``, ``sender`` and ``reader`` (web3; the only modules
importing it), ``rpcbridge``. Services: ``worker`` (batch policy and the anchoring
state machine) and ``submitter``. ``errors`` draws the error tree. It imports no
other project package.
"""
