"""The ``tracehub`` sub-commands, one module per command group (``tracehub.cli`` adds them).

* ``hub``       ``tracehub run`` and ``tracehub demo``
* ``records``   import ERP/WMS exports, capture EPCIS documents, trace and recall
* ``ledger``    export a lot's evidence bundle, add a lot's own records, rotate keys
* ``verify``    check a lot's evidence, or an exported bundle (offline or on chain)
* ``carbon``    a lot's footprint report and the factor table
* ``devices``   device identities and broker security
* ``clients``   API clients of the web API: bearer tokens with scopes
* ``simulate``  simulated devices for a site
* ``qr``        QR codes and label sheets
* ``grafana``   dashboards and alert rules: generate, check, publish
* ``status``    the gateways' health and dead-letter counters
* ``audit``     the audit trail: list, export as CSV, verify, sign what is left
* ``fsma``      ``tracehub records fsma204``: the FDA FSMA 204 sortable spreadsheet
* ``readings``  readings from USB data-logger files
* ``calibration`` probe calibration records
* ``retention`` how long InfluxDB keeps readings
* ``compose``   the docker-compose deployment's generated secrets (``compose init``)

Shared by several: ``writers`` (the site's ledger, the audited master-data writer) and
``devicetrail`` (the device registry under the audit trail).
"""
