"""The anchor contract on an EVM, over web3: the only modules importing web3.

* ``contract``   binding TracehubAnchor (deploy, look up, locate, manage anchorers),
  the embedded EVM and JSON-RPC providers, and the translation of every web3,
  requests and eth-tester error into ``ledger.errors``
* ``sender``     ``AnchorSender``, the worker's ``AnchorChain``: estimate, sign,
  broadcast, watch receipts
* ``reader``     ``ChainReader``, the read-only ``ChainView`` verification uses
* ``rpcbridge``  a read-only JSON-RPC view of the in-process chain for other processes
* ``contracts/`` the Solidity source and its committed, reproducible solc artifact
"""
