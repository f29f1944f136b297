"""Verifying an evidence bundle, pure over data (the chain only behind ``ChainView``).

* ``verifier``       each item (record digest, signature, leaf, proof) and the report
* ``streamcheck``    the hash chains: dropped, reordered or replaced entries
* ``batchcheck``     batch metadata, anchor records, the root on chain
* ``manifestcheck``  the site's signed manifest over every section
* ``attribution``    whose key signed, and was it valid at the anchor's block time
* ``trust``          trust anchors from outside the bundle (``tracehub-trust/1``,
  fingerprints, key ids): without them a bundle is only self-consistent
* ``report``         ``Check``, ``Report``, ``Outcome`` and ``Verdict``
"""
