"""The HTTP entry point: consumer pages per GS1 Digital Link, the EPCIS/lot API, the
auditor API.

``app`` is the route table (``create_app``: routes, mounts, the problem handler).
Consumer pages: ``pages`` (the Digital Link and evidence-download endpoints, cached),
built from ``resolver`` (which item a path names, canonical redirects), ``lotpage``
(builds the lot's frozen view, ``lotview``; privacy decided there), ``renderer`` (Jinja templates in
``templates/``, filters), ``chart`` (inline SVG), ``i18n`` (catalogues in
``messages/``, language negotiation), ``linkset`` (RFC 9264 links of an item),
``pagecache`` (rendered pages, ETag, gzip) and ``qr`` (QR codes and label sheets of
the links). JSON endpoints: ``api`` (EPCIS capture/query, lot custody, exposure,
recall), ``auditor`` (token-protected raw data; bearer tokens kept hashed),
``fsmaexport`` (the FDA FSMA 204 spreadsheet for auditors), ``report/`` (the lot's
temperature report as PDF, WeasyPrint), ``console/`` (the operator console),
``health`` (``/healthz``), ``wellknown`` (``/.well-known/tracehub.json``, the site's
trust anchors); they read paths with ``params`` and answer every error
through ``problem`` (RFC 9457). ``server`` runs the app under uvicorn (and serves
``/rpc``) speaking ``httpprotocol`` (bounded request heads). Bounded work per request:
``limits`` (every limit, and the middleware for URLs and bodies), ``jsonbody`` (the
bounded JSON reader), ``offload`` (CPU-heavy work in bounded thread pools),
``ratelimit`` (token buckets per client); ``errors`` is the package's error tree. ``static/``
holds the pages' CSS and the in-page proof check. It imports ``traceability``,
``ledger`` and ``gs1`` only.
"""
