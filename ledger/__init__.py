"""Bytes in, proofs out: canonical JSON, Merkle trees and on-chain anchoring.

The ledger knows bytes, not lots. Public modules: ``canonical`` (RFC 8785),
``digest`` (SHA-256), ``merkle`` (RFC 6962), ``anchor`` (the anchoring port),
``chain`` (the web3 adapter, the only module that imports web3), ``rpcbridge``
(read-only JSON-RPC over the embedded chain) and ``errors``. It imports no other
project package.
"""
