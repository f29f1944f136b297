"""The composition root: the only package that wires concrete adapters together.

* ``settings``    every setting, from the environment (read when asked, never on import)
  (``retentionsettings`` and ``subscriptionsettings`` hold two of its classes)
* ``retaining``   InfluxDB retention held to the sealed evidence in the ledger
* ``bootstrap``   ``wire``: the hub's parts built and joined from resolved settings
* ``hub``         ``Hub``: build (no I/O), ``open()`` (connect, wire), ``start()``, ``stop()``
* ``bridges``     error-translating adapters between the gateway's ports and
  traceability / the ledger
* ``chain``       connecting the chain (embedded EVM or JSON-RPC, contract deployment)
  and the anchoring worker on it
* ``keys``        the site's keystore and signer
* ``site``        the gateway's config, identity and broker credentials
* ``website``     the web site: lot pages, APIs, evidence downloads, the trust document
* ``temperatures`` what lots are judged by: InfluxDB's probes and the sensor events
* ``services``    launchers for mosquitto, influxd and anvil on loopback ports
* ``localstack``  spawning the services the settings leave unset
* ``cli``, ``commands/``  the ``tracehub`` command line; ``console`` its output
* ``demo``        ``tracehub demo``: the whole slice with simulated devices
"""
