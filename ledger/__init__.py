"""Bytes in, proofs out: canonical JSON, signed entries, Merkle batches, anchoring, evidence.

The ledger knows bytes, not lots. It imports no other project package.

Pure top-level modules (no web3, no SQLAlchemy; the store is only a type to them):

* ``canonical``  RFC 8785 canonical JSON (numbers in ``es6number``); ``digest`` SHA-256
* ``merkle``     RFC 6962 trees, inclusion proofs
* ``signing``    Ed25519 keys with validity periods
* ``entry``      the signed, hash-chained leaf
* ``fees``       EIP-1559 fees under a ceiling
* ``anchor``     the anchoring port (``AnchorChain``) and its models; ``batch`` the
  store's models (entries, batches, the lease)
* ``evidence``   the evidence bundle format, built from a store
* ``worker``     the batch policy and the anchoring state machine (the one anchoring
  path: cut → sent → included → confirmed)
* ``submitter``  any JSON record → a signed leaf
* ``errors``     the error tree

Sub-packages, the only places that import SQLAlchemy and web3:

* ``store/``   the SQL store (``sqlstore.LedgerStore``) and the encrypted keystore
* ``evm/``     the anchor contract over web3: deploy and read (``contract``), send
  (``sender``), verify-side reads (``reader``), the read-only RPC bridge
* ``verify/``  bundle verification, pure over data (``verifier`` and its checks; the
  trust anchors a bundle is attributed by, ``trust``)
"""
